using System.Text.Json.Nodes;

namespace OstreeContainer.Deploy.Tests;

/// <summary>deploy/k8s renders with kustomize, and every object validates against the Kubernetes schemas.</summary>
public sealed class KustomizeTests
{
    public static TheoryData<string> Folders => ["deploy/k8s", "deploy/k8s/base"];

    [Theory]
    [MemberData(nameof(Folders))]
    public void Build_Kustomization_RendersValidObjects(string folder)
    {
        var yaml = KubernetesTools.Build(Path.Combine(Fixtures.RepositoryRoot, folder));

        var objects = KubernetesTools.ValidObjects(yaml);

        Assert.Equal(["Deployment", "PodDisruptionBudget", "Service"], objects.Select(o => (string)o["kind"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Build_Overlay_SetsTheImage()
    {
        var objects = KubernetesTools.ValidObjects(Manifests.Render());

        var image = (string?)Manifests.Container(Manifests.Single(objects, "Deployment"))["image"];

        Assert.Equal("registry.example.com/os/exampleos:stable", image);
    }

    [Fact]
    public void Build_EveryComponent_AddsItsObjectAndStaysValid()
    {
        Assert.Equal(["hpa", "ingress"], Manifests.Components);

        var objects = KubernetesTools.ValidObjects(Manifests.Render([.. Manifests.Components]));

        Assert.Equal(
            ["Deployment", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget", "Service"],
            objects.Select(o => (string)o["kind"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Hpa_ScalesTheDeployment()
    {
        var objects = KubernetesTools.ValidObjects(Manifests.Render("hpa"));
        var deployment = Manifests.Single(objects, "Deployment");
        var hpa = Manifests.Single(objects, "HorizontalPodAutoscaler");

        var target = hpa["spec"]!["scaleTargetRef"]!;

        Assert.Equal("Deployment", (string?)target["kind"]);
        Assert.Equal((string?)deployment["metadata"]!["name"], (string?)target["name"]);
        Assert.True((int)hpa["spec"]!["minReplicas"]! >= 2, "an HPA below 2 replicas would defeat the PodDisruptionBudget");
        // A CPU utilisation target is meaningless without a CPU request.
        Assert.NotNull(Manifests.Container(deployment)["resources"]?["requests"]?["cpu"]);
    }

    [Fact]
    public void Ingress_RoutesRepoAndObjectMapToTheServicePort()
    {
        var objects = KubernetesTools.ValidObjects(Manifests.Render("ingress"));
        var service = Manifests.Single(objects, "Service");
        var ingress = Manifests.Single(objects, "Ingress");
        var servicePorts = service["spec"]!["ports"]!.AsArray().Select(p => (string?)p!["name"]).ToList();

        var paths = ingress["spec"]!["rules"]!.AsArray().SelectMany(r => r!["http"]!["paths"]!.AsArray()).Select(p => p!.AsObject()).ToList();

        Assert.Equal(["/object-map", "/repo"], paths.Select(p => (string)p["path"]!).Order(StringComparer.Ordinal));
        foreach (var path in paths)
        {
            var backend = path["backend"]!["service"]!;
            Assert.Equal((string?)service["metadata"]!["name"], (string?)backend["name"]);
            Assert.Contains((string?)backend["port"]!["name"], servicePorts);
        }
    }

    [Fact]
    public void Validate_InvalidObjects_AreRejected()
    {
        // The validator must be able to fail: a wrongly typed field, a missing required
        // field and a kind it has no schema for are each reported, and the run exits 1.
        var yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: typed}
            spec: {ports: [{port: "eighty"}]}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: incomplete}
            spec: {template: {spec: {containers: []}}}
            ---
            apiVersion: example.com/v1
            kind: Unknown
            metadata: {name: unknown}
            """;

        var (exitCode, results) = KubernetesTools.Validate(yaml);

        Assert.Equal(1, exitCode);
        Assert.Collection(
            results,
            r => Assert.Contains("port must be integer", r.Error, StringComparison.Ordinal),
            r => Assert.Contains("selector", r.Error, StringComparison.Ordinal),
            r => Assert.Contains("no schema for example.com/v1 Unknown", r.Error, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_TheRenderedDeploymentWithABrokenProbe_IsRejected()
    {
        var yaml = Manifests.Render().Replace("port: http\n", "port: [http]\n", StringComparison.Ordinal);

        var (exitCode, results) = KubernetesTools.Validate(yaml);

        Assert.Equal(1, exitCode);
        Assert.Contains(results, r => (string?)r.Object["kind"] == "Deployment" && r.Error is not null);
    }

    internal static JsonObject Deployment() => Manifests.Single(KubernetesTools.ValidObjects(Manifests.Render()), "Deployment");
}
