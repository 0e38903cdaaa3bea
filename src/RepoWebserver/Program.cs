using OstreeContainer.RepoWebserver.Hosting;

return await RepoWebserverHost.RunAsync(args, Console.Error);
