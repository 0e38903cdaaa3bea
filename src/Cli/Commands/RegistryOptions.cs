using System.CommandLine;
using Microsoft.Extensions.Logging;
using OstreeContainer.Errors;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Cli.Commands;

/// <summary>The registry options skopeo and podman users know: --authfile, --creds, --tls-verify.</summary>
internal sealed class RegistryOptions
{
    private readonly Option<string?> _authFile = new("--authfile")
    {
        Description = "Credentials file (default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)",
    };

    private readonly Option<string?> _creds = new("--creds") { Description = "USERNAME:PASSWORD for the registry" };

    private readonly Option<bool> _tlsVerify = new("--tls-verify")
    {
        Description = "Require HTTPS and verify certificates (--tls-verify=false allows plain HTTP)",
        DefaultValueFactory = _ => true,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_authFile);
        command.Options.Add(_creds);
        command.Options.Add(_tlsVerify);
    }

    public RegistryClient CreateClient(ParseResult parse, ILoggerFactory loggerFactory)
    {
        RegistryCredentials? credentials = null;
        if (parse.GetValue(_creds) is { } creds)
        {
            try
            {
                credentials = RegistryCredentials.Parse(creds);
            }
            catch (FormatException)
            {
                // Never echo the value: it holds a password.
                throw new UserInputException("--creds: expected USERNAME:PASSWORD");
            }
        }

        return new RegistryClient(new RegistryClientOptions
        {
            Credentials = credentials,
            AuthFile = parse.GetValue(_authFile),
            TlsVerify = parse.GetValue(_tlsVerify),
            LoggerFactory = loggerFactory,
        });
    }
}
