using System.Net.Http.Headers;
using OstreeContainer.Oci.Registry;

namespace OstreeContainer.Oci.Tests.Registry;

public class AuthChallengeTests
{
    [Fact]
    public void ParseParameters_QuotedValuesWithCommasAndEscapes()
    {
        var parameters = AuthChallenge.ParseParameters(
            "realm=\"https://auth.example/token\", service=\"registry.example\",scope=\"repository:a/b:pull,push repository:c:pull\",error=insufficient_scope,x=\"a\\\"b\"");

        Assert.Equal("https://auth.example/token", parameters["realm"]);
        Assert.Equal("registry.example", parameters["service"]);
        Assert.Equal("repository:a/b:pull,push repository:c:pull", parameters["scope"]);
        Assert.Equal("insufficient_scope", parameters["error"]);
        Assert.Equal("a\"b", parameters["x"]);
    }

    [Fact]
    public void Select_PrefersBearerOverBasic()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Add(new AuthenticationHeaderValue("Basic", "realm=\"r\""));
        response.Headers.WwwAuthenticate.Add(new AuthenticationHeaderValue("Bearer", "realm=\"https://a/t\",service=\"s\""));

        var challenge = AuthChallenge.Select(response.Headers.WwwAuthenticate);

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBearer);
        Assert.Equal("https://a/t", challenge.Realm);
        Assert.Equal("s", challenge.Service);
        Assert.Null(challenge.Scope);
    }

    [Fact]
    public void Select_UnknownSchemeOnly_Null()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Add(new AuthenticationHeaderValue("Negotiate"));

        Assert.Null(AuthChallenge.Select(response.Headers.WwwAuthenticate));
    }
}

public class RegistryCredentialsTests
{
    [Fact]
    public void Parse_PasswordWithColons_SplitsAtFirstColon()
    {
        Assert.Equal(new RegistryCredentials("user", "pa:ss:word"), RegistryCredentials.Parse("user:pa:ss:word"));
    }

    [Theory]
    [InlineData("nocolon")]
    [InlineData(":password")]
    public void Parse_Malformed_ThrowsWithoutEchoingTheValue(string value)
    {
        var error = Assert.Throws<FormatException>(() => RegistryCredentials.Parse(value));
        Assert.DoesNotContain(value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_HidesThePassword()
    {
        var text = new RegistryCredentials("user", "hunter2").ToString();

        Assert.Equal("user:***", text);
        Assert.DoesNotContain("hunter2", $"{new { Creds = new RegistryCredentials("user", "hunter2") }}", StringComparison.Ordinal);
    }
}
