namespace OstreeContainer.Deploy.Tests;

/// <summary>
/// The route without kustomize, as the README shows it: <c>kubectl create deployment</c>
/// plus <c>kubectl create service</c>, rendered offline with <c>--dry-run=client</c> (which
/// Debian 12's kubectl 1.20 does too), valid and wired to the image's port 8080.
/// </summary>
public sealed class KubectlTests
{
    private const string Image = "registry.example.com/os/exampleos:1";

    [Fact]
    public void CreateDeploymentAndService_DryRun_ServiceReachesTheImagesPort()
    {
        var kubectl = RequireKubectl();

        var deploymentYaml = Peer.Run(kubectl, ["create", "deployment", "exampleos", $"--image={Image}", "--port=8080", "--dry-run=client", "-o", "yaml"])
            .EnsureSuccess("kubectl create deployment --dry-run=client").Stdout;
        var serviceYaml = Peer.Run(kubectl, ["create", "service", "clusterip", "exampleos", "--tcp=80:8080", "--dry-run=client", "-o", "yaml"])
            .EnsureSuccess("kubectl create service --dry-run=client").Stdout;
        var objects = KubernetesTools.ValidObjects(deploymentYaml + "---\n" + serviceYaml);

        var deployment = Manifests.Single(objects, "Deployment");
        var service = Manifests.Single(objects, "Service");
        var container = Manifests.Container(deployment);
        Assert.Equal(Image, (string?)container["image"]);
        Assert.Equal([8080], container["ports"]!.AsArray().Select(p => (int)p!["containerPort"]!));
        var port = service["spec"]!["ports"]!.AsArray().Single()!;
        Assert.Equal(80, (int)port["port"]!);
        Assert.Equal(8080, (int)port["targetPort"]!);
        Assert.True(
            Manifests.Selects(Manifests.Map(service["spec"]!["selector"]), Manifests.Map(deployment["spec"]!["template"]!["metadata"]!["labels"])),
            "the Service selects the Deployment's pods");
    }

    private static string RequireKubectl()
    {
        try
        {
            return Peer.Require("kubectl");
        }
        catch (InvalidOperationException)
        {
            throw new InvalidOperationException("'kubectl' is not installed: run 'apt-get install kubernetes-client' (or scripts/install-deps.sh)");
        }
    }
}
