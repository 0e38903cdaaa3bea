using OstreeContainer.RepoWebserver.Hosting;

// This process only serves, so its sockets may complete inline (RepoWebserverHost.Build).
return await RepoWebserverHost.RunAsync(args, Console.Error, ownsProcess: true, CancellationToken.None);
