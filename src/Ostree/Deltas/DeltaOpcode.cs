namespace OstreeContainer.Ostree.Deltas;

/// <summary>
/// Delta part operations (ostree-format.md §8.4): one opcode byte, then varint arguments.
/// A part walks its header's object list; <c>S</c> and <c>c</c> finish the current object
/// and advance to the next.
/// </summary>
public enum DeltaOpcode : byte
{
    /// <summary><c>S</c>: metadata <c>len, off</c>; content <c>mode, xattr, size, off</c>. Writes a whole object from the payload.</summary>
    OpenSpliceAndClose = (byte)'S',

    /// <summary><c>o</c> <c>mode, xattr, size</c>: starts a content object.</summary>
    Open = (byte)'o',

    /// <summary><c>w</c> <c>size, off</c>: appends bytes from the payload, or from the read source when one is set.</summary>
    Write = (byte)'w',

    /// <summary><c>r</c> <c>off</c>: the 32 payload bytes at <c>off</c> name an existing content object to read from.</summary>
    SetReadSource = (byte)'r',

    /// <summary><c>R</c>: writes come from the payload again.</summary>
    UnsetReadSource = (byte)'R',

    /// <summary><c>c</c>: finishes the object opened by <c>o</c> and advances.</summary>
    Close = (byte)'c',

    /// <summary><c>B</c> <c>off, len</c>: applies the bsdiff patch at <c>payload[off..off+len]</c> to the read source.</summary>
    Bspatch = (byte)'B',
}
