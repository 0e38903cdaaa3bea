using OstreeContainer.RepoWebserver.Hosting;

// Socket completions run on the epoll thread, as Kestrel's inline scheduling expects (see
// RepoWebserverHost): about 15% less server CPU per `ostree pull`. The runtime reads this
// only from the environment, once, when the first socket is made; an explicit setting wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

return await RepoWebserverHost.RunAsync(args, Console.Error);
