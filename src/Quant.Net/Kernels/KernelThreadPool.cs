using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Quant.Net.Kernels;

/// <summary>
/// Persistent worker threads for the parallel parts of kernel calls (<see cref="Int8Gemm"/>, <see cref="Fp32Gemm"/>,
/// the layers and convolutions when <c>maxDegreeOfParallelism</c> ≠ 1). Workers spin briefly after a call, so the next
/// call of a network's next layer starts at once, then park until work arrives. The calling thread always takes part.
/// </summary>
/// <remarks>
/// <para>
/// Every parallel call without a pool of its own uses <see cref="Shared"/>: <see cref="Environment.ProcessorCount"/> − 1
/// background workers, started on first use and never disposed. Create a pool to bound or isolate the threads that run
/// kernels (for example one per inference stream), and dispose it when done; its workers exit.
/// </para>
/// <para>
/// A pool runs one call at a time: a call that finds the pool busy with another thread's call runs on its own thread
/// instead of waiting. Results never depend on which threads did the work or how many (the work is split into the same
/// ranges either way). Workers that wake late are not waited for: the caller and the workers already running take the
/// remaining ranges, and a worker that arrives after the last range leaves without touching the call's data.
/// </para>
/// </remarks>
public sealed class KernelThreadPool : IDisposable
{
    private static readonly Lazy<KernelThreadPool> SharedPool = new(() => new KernelThreadPool(Environment.ProcessorCount - 1, shared: true));

    /// <summary>How long an idle worker spins before it parks.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;   // 200 µs

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private readonly object _dispatch = new();
    private readonly bool _shared;
    private Job? _current;
    private int _parked;
    private volatile bool _disposed;

    /// <summary>Creates a pool with <paramref name="workerCount"/> worker threads, which start now.</summary>
    /// <param name="workerCount">Threads besides the caller's, ≥ 0 (0 runs everything on the calling thread).</param>
    public KernelThreadPool(int workerCount) : this(workerCount, shared: false)
    {
    }

    private KernelThreadPool(int workerCount, bool shared)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workerCount);
        _shared = shared;
        _threads = new Thread[workerCount];
        for (int i = 0; i < workerCount; i++)
        {
            int index = i;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"Quant.Net kernel worker {i}" };
            _threads[i].Start();
        }
    }

    /// <summary>
    /// The pool parallel kernel calls use unless given one: <see cref="Environment.ProcessorCount"/> − 1 background workers,
    /// created on first use. <see cref="Dispose"/> on it does nothing.
    /// </summary>
    public static KernelThreadPool Shared => SharedPool.Value;

    /// <summary>Worker threads besides the caller's.</summary>
    public int WorkerCount => _threads.Length;

    /// <summary>Stops the workers (they exit once idle). Calls made after this throw <see cref="ObjectDisposedException"/>; no-op on <see cref="Shared"/>.</summary>
    public void Dispose()
    {
        if (_shared || _disposed) return;
        _disposed = true;
        lock (_gate) Monitor.PulseAll(_gate);
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over contiguous ranges of [0, <paramref name="count"/>) on the calling
    /// thread and up to <paramref name="threads"/> − 1 workers, ranges taken from a shared counter. Returns once every
    /// range has run; an exception from any range is rethrown here after the others finish.
    /// </summary>
    internal void ForEachRange(int count, int threads, Action<int, int> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int helpers = Math.Min(threads - 1, _threads.Length);
        var job = new Job(count, Math.Min(count, (helpers + 1) * 4), body);
        if (helpers <= 0 || !Monitor.TryEnter(_dispatch))
        {
            job.Work();   // alone: no workers, or another call holds them
            job.Throw();
            return;
        }

        try
        {
            job.Helpers = helpers;
            Interlocked.Exchange(ref _current, job);
            if (Volatile.Read(ref _parked) > 0)
            {
                lock (_gate) Monitor.PulseAll(_gate);
            }

            job.Work();
            job.CloseAndWait();
        }
        finally
        {
            Volatile.Write(ref _current, null);   // drop the call's closure; spinning workers just see a change
            Monitor.Exit(_dispatch);
        }

        job.Throw();
    }

    private void WorkerLoop(int index)
    {
        Job? seen = null;
        while (true)
        {
            Job? job = Volatile.Read(ref _current);
            if (job == seen)
            {
                long until = Stopwatch.GetTimestamp() + SpinTicks;
                while ((job = Volatile.Read(ref _current)) == seen && !_disposed && Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
                if (job == seen && !_disposed)
                {
                    lock (_gate)
                    {
                        Interlocked.Increment(ref _parked);
                        while ((job = Volatile.Read(ref _current)) == seen && !_disposed) Monitor.Wait(_gate);
                        Interlocked.Decrement(ref _parked);
                    }
                }
            }

            if (_disposed) return;
            seen = job;
            if (job is not null && index < job.Helpers && job.TryJoin())
            {
                job.Work();
                job.Leave();
            }
        }
    }

    /// <summary>One parallel call: its ranges, who joined and the first exception.</summary>
    private sealed class Job(int count, int chunks, Action<int, int> body)
    {
        private const int Closed = int.MinValue;
        private int _next = -1;
        private int _joined;
        private int _left;
        private ExceptionDispatchInfo? _error;

        public int Helpers;

        public void Work()
        {
            try
            {
                int chunk;
                while ((chunk = Interlocked.Increment(ref _next)) < chunks)
                    body((int)((long)count * chunk / chunks), (int)((long)count * (chunk + 1) / chunks));
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                Interlocked.Exchange(ref _next, chunks);   // the other threads stop taking ranges
            }
        }

        /// <summary>A worker joins unless the caller has closed the call (then it must not touch the call's data).</summary>
        public bool TryJoin()
        {
            if (Interlocked.Increment(ref _joined) > 0) return true;
            return false;   // closed: the increment lands on the negative flag and is ignored
        }

        public void Leave() => Interlocked.Increment(ref _left);

        /// <summary>Closes the call to late workers and waits for those that joined before.</summary>
        public void CloseAndWait()
        {
            int joined = Interlocked.Add(ref _joined, Closed) - Closed;
            var spin = new SpinWait();
            while (Volatile.Read(ref _left) < joined) spin.SpinOnce(sleep1Threshold: -1);
        }

        public void Throw() => _error?.Throw();
    }
}
