using OstreeContainer.RepoWebserver.Tests;

[assembly: AssemblyFixture(typeof(SharedRepoCleanup))]
