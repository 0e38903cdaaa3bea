using System.Net.Http.Headers;

namespace OstreeContainer.Oci.Registry;

/// <summary>
/// One <c>WWW-Authenticate</c> challenge (RFC 7235 §4.1): a scheme and its parameters, e.g.
/// <c>Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"</c>
/// as the docker token spec sends it.
/// </summary>
internal sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? Realm => Parameters.GetValueOrDefault("realm");

    public string? Service => Parameters.GetValueOrDefault("service");

    public string? Scope => Parameters.GetValueOrDefault("scope");

    /// <summary>The first Bearer challenge, else the first Basic one, else null.</summary>
    public static AuthChallenge? Select(HttpHeaderValueCollection<AuthenticationHeaderValue> headers)
    {
        AuthChallenge? basic = null;
        foreach (var header in headers)
        {
            var challenge = new AuthChallenge(header.Scheme, ParseParameters(header.Parameter));
            if (challenge.IsBearer)
            {
                return challenge;
            }

            basic ??= challenge.IsBasic ? challenge : null;
        }

        return basic;
    }

    /// <summary>Parses <c>k1="v1", k2=v2</c>; quoted values may hold commas and <c>\"</c> escapes.</summary>
    public static Dictionary<string, string> ParseParameters(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        var s = text ?? string.Empty;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] is ' ' or '\t' or ','))
            {
                i++;
            }

            var keyStart = i;
            while (i < s.Length && s[i] is not ('=' or ',' or ' '))
            {
                i++;
            }

            var key = s[keyStart..i];
            while (i < s.Length && s[i] == ' ')
            {
                i++;
            }

            if (i >= s.Length || s[i] != '=')
            {
                // A token68 or a bare word: nothing the registry protocol uses.
                continue;
            }

            i++;
            while (i < s.Length && s[i] == ' ')
            {
                i++;
            }

            string value;
            if (i < s.Length && s[i] == '"')
            {
                var builder = new System.Text.StringBuilder();
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length)
                    {
                        i++;
                    }

                    builder.Append(s[i]);
                    i++;
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                var valueStart = i;
                while (i < s.Length && s[i] != ',')
                {
                    i++;
                }

                value = s[valueStart..i].Trim();
            }

            if (key.Length > 0)
            {
                result[key] = value;
            }
        }

        return result;
    }
}
