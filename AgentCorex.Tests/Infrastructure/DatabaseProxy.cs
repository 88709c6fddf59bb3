using System.Net;
using System.Net.Sockets;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A TCP proxy between a server and its database, to take the database away from that server alone (the test
/// cluster is shared by every fixture): <see cref="Stop"/> refuses connections and cuts the open ones, as a stopped
/// database does; <see cref="Freeze"/> keeps them open but passes nothing, as a database that stopped answering does.
/// </summary>
public sealed class DatabaseProxy : IAsyncDisposable
{
    private readonly IPEndPoint target;
    private readonly CancellationTokenSource disposed = new();
    private readonly List<TcpClient> open = [];
    private readonly List<TcpClient> held = [];
    private TcpListener? listener;
    private TaskCompletionSource flowing = NewGate(open: true);
    private TaskCompletionSource answering = NewGate(open: true);
    private (byte[] Text, TaskCompletionSource Sent)? losing;

    private DatabaseProxy(IPEndPoint target, int port)
    {
        this.target = target;
        Port = port;
    }

    public int Port { get; }

    /// <summary>A proxy to PostgreSQL on <paramref name="host"/>:<paramref name="port"/>, passing traffic.</summary>
    public static DatabaseProxy Start(string host, int port)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var proxy = new DatabaseProxy(new IPEndPoint(IPAddress.Parse(host), port), ((IPEndPoint)probe.LocalEndpoint).Port);
        probe.Stop();
        proxy.Resume();
        return proxy;
    }

    /// <summary>The connection string <paramref name="connectionString"/> made to go through this proxy.</summary>
    public string Through(string connectionString) =>
        new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ToString();

    /// <summary>As a stopped database: new connections are refused, open ones are cut.</summary>
    public void Stop()
    {
        lock (open)
        {
            listener?.Stop();
            listener = null;
            open.ForEach(c => c.Client.Close(0));
            open.Clear();
        }
    }

    /// <summary>As a database that no longer answers: connections stay open (new ones are accepted) but nothing passes.</summary>
    public void Freeze()
    {
        lock (open)
        {
            if (flowing.Task.IsCompleted)
            {
                flowing = NewGate(open: false);
            }
        }
    }

    /// <summary>
    /// As a network that loses the database's answers: what a server sends still reaches the database, which runs and
    /// commits it, but nothing the database answers passes, until <see cref="Cut"/>.
    /// </summary>
    public void HoldAnswers()
    {
        lock (open)
        {
            if (answering.Task.IsCompleted)
            {
                answering = NewGate(open: false);
            }
        }
    }

    /// <summary>
    /// As a network that loses one statement's answer: the first statement sent from now on whose text contains
    /// <paramref name="text"/> reaches the database, which runs and commits it, but nothing more passes back on its
    /// connection until <see cref="CutHeld"/> cuts it; other connections pass. The task completes as that statement is
    /// passed on. Only a statement sent with its text matches: not a prepared one's later runs, which Npgsql sends by name.
    /// </summary>
    public Task LoseTheAnswerTo(string text)
    {
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (open)
        {
            losing = (System.Text.Encoding.UTF8.GetBytes(text), sent);
        }
        return sent.Task;
    }

    /// <summary>Cuts the connection whose answer <see cref="LoseTheAnswerTo"/> held: the answer is lost with it.</summary>
    public void CutHeld()
    {
        lock (open)
        {
            held.ForEach(c => c.Client.Close(0));
            held.Clear();
        }
    }

    /// <summary>As a network failure: the open connections are cut (answers held are lost with them); new ones pass.</summary>
    public void Cut()
    {
        lock (open)
        {
            open.ForEach(c => c.Client.Close(0));
            open.Clear();
            answering.TrySetResult();
        }
    }

    /// <summary>Passes traffic again (after <see cref="Stop"/> or <see cref="Freeze"/>).</summary>
    public void Resume()
    {
        lock (open)
        {
            flowing.TrySetResult();
            if (listener is null)
            {
                listener = new TcpListener(IPAddress.Loopback, Port);
                listener.Start();
                _ = AcceptAsync(listener);
            }
        }
    }

    /// <summary>
    /// As a network back from a failure: new connections, and open ones that sent nothing while frozen, pass again; what
    /// <see cref="Freeze"/> held is never passed, as on a connection the failure left dead that neither end has noticed.
    /// </summary>
    public void Recover()
    {
        lock (open)
        {
            // A new gate, the old one left shut: a pump waiting on it waits until the proxy is disposed.
            flowing = NewGate(open: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await disposed.CancelAsync();
        Stop();
        flowing.TrySetResult();
        disposed.Dispose();
    }

    private async Task AcceptAsync(TcpListener listening)
    {
        while (!disposed.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listening.AcceptTcpClientAsync(disposed.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return; // stopped
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        lock (open)
        {
            open.Add(client);
            open.Add(server);
        }
        try
        {
            await server.ConnectAsync(target, disposed.Token);
            var link = new Link(client, server);
            await Task.WhenAny(PumpAsync(client.GetStream(), server.GetStream(), link, answers: false), PumpAsync(server.GetStream(), client.GetStream(), link, answers: true));
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // cut by Stop or by either end
        }
        finally
        {
            lock (open)
            {
                open.Remove(client);
                open.Remove(server);
                held.Remove(client);
                held.Remove(server);
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, Link link, bool answers)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, disposed.Token)) > 0)
            {
                Task gate;
                TaskCompletionSource? lost = null;
                lock (open)
                {
                    if (!answers && losing is var (text, sent) && buffer.AsSpan(0, read).IndexOf(text) >= 0)
                    {
                        // Shut before the statement is passed on, so its answer meets it shut.
                        link.Answers = NewGate(open: false);
                        held.AddRange([link.Client, link.Server]);
                        (losing, lost) = (null, sent);
                    }
                    gate = answers ? Task.WhenAll(flowing.Task, answering.Task, link.Answers.Task) : flowing.Task;
                }
                await gate.WaitAsync(disposed.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), disposed.Token);
                lost?.TrySetResult();
            }
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // cut by Stop or by either end
        }
    }

    /// <summary>One connection through the proxy: the server's end, the database's, and the gate of its own answers.</summary>
    private sealed class Link(TcpClient client, TcpClient server)
    {
        public TcpClient Client { get; } = client;

        public TcpClient Server { get; } = server;

        /// <summary>Shut for good once its answer is to be lost (<see cref="LoseTheAnswerTo"/>); guarded by the proxy's lock.</summary>
        public TaskCompletionSource Answers { get; set; } = NewGate(open: true);
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }
        return gate;
    }
}
