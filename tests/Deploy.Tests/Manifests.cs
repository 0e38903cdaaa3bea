using System.Text.Json.Nodes;

namespace OstreeContainer.Deploy.Tests;

/// <summary>deploy/k8s rendered by kustomize, alone or with its optional components.</summary>
internal static class Manifests
{
    /// <summary>The folder holding the overlay (<c>deploy/k8s</c>).</summary>
    public static string Root => Path.Combine(Fixtures.RepositoryRoot, "deploy", "k8s");

    /// <summary>Every optional component under <c>deploy/k8s/components</c>.</summary>
    public static IReadOnlyList<string> Components =>
        [.. Directory.EnumerateDirectories(Path.Combine(Root, "components")).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>
    /// The overlay with <paramref name="components"/> enabled, rendered as a user who
    /// uncomments them would get it: a temp overlay naming deploy/k8s and the components.
    /// </summary>
    public static string Render(params string[] components)
    {
        if (components.Length == 0)
        {
            return KubernetesTools.Build(Root);
        }

        var overlay = Fixtures.TempDirectory("overlay");
        var relative = Path.GetRelativePath(overlay, Root);
        File.WriteAllText(Path.Combine(overlay, "kustomization.yaml"), $"""
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
              - {relative}
            components:
            {string.Concat(components.Select(c => $"  - {relative}/components/{c}\n"))}
            """);
        return KubernetesTools.Build(overlay);
    }

    /// <summary>The one object of <paramref name="kind"/>; fails when there is not exactly one.</summary>
    public static JsonObject Single(IReadOnlyList<JsonObject> objects, string kind)
    {
        var matching = objects.Where(o => (string?)o["kind"] == kind).ToList();
        Assert.True(matching.Count == 1, $"expected one {kind}, found {matching.Count} among {string.Join(", ", objects.Select(o => o["kind"]))}");
        return matching[0];
    }

    /// <summary>A string-to-string map (labels, selectors) as a dictionary.</summary>
    public static Dictionary<string, string> Map(JsonNode? node) =>
        node?.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal) ?? [];

    /// <summary>The Deployment's only container.</summary>
    public static JsonObject Container(JsonObject deployment)
    {
        var containers = deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        Assert.Single(containers);
        return containers[0]!.AsObject();
    }

    /// <summary>The containerPort of the container's port named <paramref name="name"/>.</summary>
    public static int ContainerPort(JsonObject container, string name)
    {
        var port = container["ports"]!.AsArray().SingleOrDefault(p => (string?)p!["name"] == name);
        Assert.True(port is not null, $"the container has no port named '{name}'");
        return (int)port!["containerPort"]!;
    }

    /// <summary>True when every label of <paramref name="selector"/> is on <paramref name="labels"/>, and there is at least one.</summary>
    public static bool Selects(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);
}
