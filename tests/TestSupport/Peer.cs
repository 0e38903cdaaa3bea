using System.Diagnostics;
using System.Text;

namespace OstreeContainer.TestSupport;

/// <summary>Runs a real peer tool (ostree, gpg…) and fails with an install hint when it is missing.</summary>
public static class Peer
{
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["ostree"] = "ostree",
        ["gpg"] = "gnupg",
        ["gpgconf"] = "gnupg",
        ["setfattr"] = "attr",
        ["getfattr"] = "attr",
        ["bash"] = "bash",
        ["debootstrap"] = "debootstrap",
        ["flock"] = "util-linux",
        ["find"] = "findutils",
        ["nginx"] = "nginx-light",
        ["wrk"] = "wrk",
        ["mkfifo"] = "coreutils",
    };

    /// <summary>The result of a finished process.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>Throws when the exit code is not 0, with the command's stderr.</summary>
        public Result EnsureSuccess(string what)
        {
            if (ExitCode != 0)
            {
                throw new InvalidOperationException($"{what} exited {ExitCode}: {Stderr.Trim()} {Stdout.Trim()}");
            }

            return this;
        }
    }

    /// <summary>Absolute path of <paramref name="tool"/> on PATH; throws with the Debian package to install.</summary>
    public static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        var package = Packages.GetValueOrDefault(tool, tool);
        throw new InvalidOperationException($"the peer tool '{tool}' is not installed: run 'apt-get install {package}' (or scripts/install-deps.sh)");
    }

    /// <summary>Runs <paramref name="tool"/> with arguments, returning its exit code and output.</summary>
    public static Result Run(string tool, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }

        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish");
        }

        p.WaitForExit();
        return new Result(p.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <paramref name="tool"/> and throws unless it exits 0; returns stdout.</summary>
    public static string Check(string tool, params string[] args) =>
        Run(tool, args).EnsureSuccess($"{tool} {string.Join(' ', args)}").Stdout;

    /// <summary>Runs the real <c>ostree</c> against <paramref name="repo"/>.</summary>
    public static string Ostree(string repo, params string[] args) => Check("ostree", [$"--repo={repo}", .. args]);
}
