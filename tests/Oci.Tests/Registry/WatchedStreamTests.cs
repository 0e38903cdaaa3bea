using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

public class WatchedStreamTests
{
    private static readonly byte[] Body = [.. Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7))];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Read_SkipPrefix_ReturnsBytesFromOffset(bool synchronous)
    {
        const int offset = 150_000;
        using var watchdog = new IdleWatchdog(TimeSpan.FromSeconds(30), TimeProvider.System, TestContext.Current.CancellationToken);
        using var stream = new WatchedStream(new MemoryStream(Body), watchdog, skip: offset);
        var received = new MemoryStream();

        if (synchronous)
        {
            stream.CopyTo(received);
        }
        else
        {
            await stream.CopyToAsync(received, TestContext.Current.CancellationToken);
        }

        Assert.Equal(Body[offset..], received.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Read_BodyShorterThanSkip_IOException(bool synchronous)
    {
        using var watchdog = new IdleWatchdog(TimeSpan.FromSeconds(30), TimeProvider.System, TestContext.Current.CancellationToken);
        using var stream = new WatchedStream(new MemoryStream(Body), watchdog, skip: Body.Length + 1);
        var buffer = new byte[16];

        var error = synchronous
            ? Assert.Throws<IOException>(() => stream.ReadExactly(buffer))
            : await Assert.ThrowsAsync<IOException>(() => stream.ReadExactlyAsync(buffer, TestContext.Current.CancellationToken).AsTask());

        Assert.Contains("ended before the requested offset", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SynchronousSkipStalls_TimeoutOnceTheOwnedSourceIsClosed()
    {
        using var watchdog = new IdleWatchdog(TimeSpan.FromMilliseconds(200), TimeProvider.System, CancellationToken.None);
        var source = new StallingStream();
        using var stream = new WatchedStream(source, watchdog, owned: source, skip: 10);

        var error = Assert.Throws<TimeoutException>(() => stream.ReadExactly(new byte[16]));

        Assert.True(watchdog.Fired);
        Assert.IsType<ObjectDisposedException>(error.InnerException);
    }

    /// <summary>A body that never sends a byte; a blocked read returns only when the stream is closed.</summary>
    private sealed class StallingStream : Stream
    {
        private readonly ManualResetEventSlim _closed = new();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            _closed.Wait(TimeSpan.FromSeconds(30));
            throw new ObjectDisposedException(nameof(StallingStream));
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _closed.Set();
            base.Dispose(disposing);
        }
    }
}
