using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace OstreeContainer.Sysroot;

/// <summary>
/// The real libostree admin machinery, run as the <c>ostree</c> command: <c>admin os-init</c>,
/// <c>admin deploy</c> (bootloader entries, the <c>/etc</c> three-way merge, kernel and
/// initramfs under <c>/boot</c>, cleanup) and <c>admin status</c>. Nothing here writes a
/// bootloader entry or merges <c>/etc</c> itself.
/// </summary>
public sealed partial class OstreeAdmin(string sysroot, string executable = "ostree")
{
    /// <summary>The sysroot every command acts on.</summary>
    public string Sysroot { get; } = sysroot;

    /// <summary>The deployments, in the order <c>ostree admin status</c> lists them.</summary>
    /// <exception cref="SysrootException">The command failed.</exception>
    public IReadOnlyList<Deployment> Status()
    {
        var result = new List<Deployment>();
        foreach (var line in Run(["admin", "status", $"--sysroot={Sysroot}"]).Split('\n'))
        {
            // "* OS CHECKSUM.SERIAL (flags)" for the booted one, "  OS CHECKSUM.SERIAL" otherwise;
            // detail lines ("    Version: …", "    origin: …") are indented further.
            var m = StatusLine().Match(line);
            if (m.Success)
            {
                result.Add(new Deployment(
                    result.Count,
                    m.Groups["os"].Value,
                    m.Groups["commit"].Value,
                    int.Parse(m.Groups["serial"].Value, CultureInfo.InvariantCulture),
                    m.Groups["star"].Value == "*",
                    m.Groups["flags"].Value));
            }
        }

        return result;
    }

    /// <summary>Creates the stateroot <paramref name="osName"/> (<c>ostree admin os-init</c>).</summary>
    /// <exception cref="SysrootException">The command failed.</exception>
    public void OsInit(string osName) => Run(["admin", "os-init", $"--sysroot={Sysroot}", osName]);

    /// <summary>
    /// Deploys <paramref name="commit"/> (already in the sysroot's repo) into stateroot
    /// <paramref name="osName"/> with the origin <paramref name="originText"/>, as the new
    /// default; <paramref name="kernelArguments"/> replace the merge deployment's when given.
    /// </summary>
    /// <exception cref="SysrootException">The command failed.</exception>
    public void Deploy(string osName, string commit, string originText, IReadOnlyList<string> kernelArguments)
    {
        ArgumentNullException.ThrowIfNull(kernelArguments);
        var origin = Path.Combine(Path.GetTempPath(), $"ostree-container-origin-{Guid.NewGuid():N}");
        File.WriteAllText(origin, originText);
        try
        {
            Run(["admin", "deploy", $"--sysroot={Sysroot}", $"--os={osName}", $"--origin-file={origin}", .. kernelArguments.Select(k => $"--karg={k}"), commit]);
        }
        finally
        {
            File.Delete(origin);
        }
    }

    private string Run(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new SysrootException($"cannot start {executable}");
        }
        catch (Win32Exception e)
        {
            throw new SysrootException($"cannot run '{executable}' ({e.Message}): install ostree (apt-get install ostree)", e);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                var lines = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                throw new SysrootException($"ostree {args[0]} {args[1]} failed (exit {process.ExitCode}): {(lines.Length > 0 ? lines[^1] : "no message")}");
            }

            return stdout;
        }
    }

    [GeneratedRegex(@"^(?<star>[* ]) (?<os>\S+) (?<commit>[0-9a-f]{64})\.(?<serial>[0-9]+)(?: \((?<flags>[^)]*)\))?\s*$")]
    private static partial Regex StatusLine();
}
