using System.Text.Json.Nodes;

namespace OstreeContainer.Deploy.Tests;

/// <summary>The rendered Deployment, Service and PodDisruptionBudget say what issue 6 asks of them.</summary>
public sealed class DeploymentTests
{
    private readonly IReadOnlyList<JsonObject> _objects = KubernetesTools.ValidObjects(Manifests.Render());

    private JsonObject Deployment => Manifests.Single(_objects, "Deployment");

    private Dictionary<string, string> PodLabels => Manifests.Map(Deployment["spec"]!["template"]!["metadata"]!["labels"]);

    [Fact]
    public void Deployment_SecurityContext_RunsNonRootReadOnlyWithoutCapabilities()
    {
        var pod = Deployment["spec"]!["template"]!["spec"]!;
        var container = Manifests.Container(Deployment)["securityContext"]!;

        Assert.True((bool?)pod["securityContext"]?["runAsNonRoot"], "runAsNonRoot");
        Assert.NotEqual(0, (int?)pod["securityContext"]?["runAsUser"] ?? 0);
        Assert.True((bool?)container["readOnlyRootFilesystem"], "readOnlyRootFilesystem");
        Assert.False((bool?)container["allowPrivilegeEscalation"] ?? true, "allowPrivilegeEscalation");
        Assert.False((bool?)container["privileged"] ?? false, "privileged");
        Assert.Equal(["ALL"], container["capabilities"]!["drop"]!.AsArray().Select(c => (string)c!));
        Assert.Null(container["capabilities"]!["add"]);
        Assert.False((bool?)pod["automountServiceAccountToken"] ?? true, "automountServiceAccountToken");
    }

    [Fact]
    public void Deployment_ReadOnlyRoot_LeavesAWritableTmpForTheServer()
    {
        // The server caches transcoded objects and .NET writes temp files under /tmp.
        var mounts = Manifests.Container(Deployment)["volumeMounts"]!.AsArray();
        var tmp = mounts.SingleOrDefault(m => (string?)m!["mountPath"] == "/tmp");
        Assert.NotNull(tmp);
        var volume = Deployment["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)tmp!["name"]);
        Assert.NotNull(volume!["emptyDir"]);
    }

    [Fact]
    public void Deployment_Resources_RequestCpuAndMemoryAndLimitMemory()
    {
        var resources = Manifests.Container(Deployment)["resources"]!;

        Assert.NotNull(resources["requests"]?["cpu"]);
        Assert.NotNull(resources["requests"]?["memory"]);
        Assert.NotNull(resources["limits"]?["memory"]);
    }

    [Fact]
    public void Deployment_ListensOn8080_AsTheImageExposes()
    {
        var container = Manifests.Container(Deployment);
        var urls = container["env"]?.AsArray().SingleOrDefault(e => (string?)e!["name"] == "ASPNETCORE_URLS")?["value"];

        Assert.Equal(8080, Manifests.ContainerPort(container, "http"));
        // When set, ASPNETCORE_URLS must listen on all interfaces on that same port.
        if (urls is not null)
        {
            var uri = new Uri(((string)urls!).Replace("*", "0.0.0.0", StringComparison.Ordinal));
            Assert.Equal(8080, uri.Port);
            Assert.Equal("0.0.0.0", uri.Host);
        }
    }

    [Fact]
    public void Deployment_Selector_MatchesItsPods()
    {
        Assert.True(Manifests.Selects(Manifests.Map(Deployment["spec"]!["selector"]!["matchLabels"]), PodLabels));
    }

    [Fact]
    public void Service_Port80_ReachesTheContainerPort8080()
    {
        var service = Manifests.Single(_objects, "Service");
        var port = service["spec"]!["ports"]!.AsArray().Single()!;

        Assert.Equal(80, (int)port["port"]!);
        var target = port["targetPort"]!;
        var targetPort = target.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? (int)target
            : Manifests.ContainerPort(Manifests.Container(Deployment), (string)target!);
        Assert.Equal(8080, targetPort);
        Assert.True(Manifests.Selects(Manifests.Map(service["spec"]!["selector"]), PodLabels), "the Service selects the Deployment's pods");
    }

    [Fact]
    public void PodDisruptionBudget_SelectsTheDeploymentsPods()
    {
        // A policy/v1 PodDisruptionBudget with no selector protects nothing.
        var pdb = Manifests.Single(_objects, "PodDisruptionBudget");

        Assert.True(Manifests.Selects(Manifests.Map(pdb["spec"]!["selector"]?["matchLabels"]), PodLabels), "the PodDisruptionBudget selects the Deployment's pods");
        var minAvailable = (int?)pdb["spec"]!["minAvailable"];
        Assert.True(minAvailable >= 1 && minAvailable < (int)Deployment["spec"]!["replicas"]!, "minAvailable is at least 1 and leaves room for a voluntary eviction");
    }
}
