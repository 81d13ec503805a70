using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels;

[Trait("Category", "Kernel")]
public sealed class KernelThreadPoolTests
{
    [Fact]
    public void Every_range_runs_exactly_once_for_any_count_and_thread_count()
    {
        using var pool = new KernelThreadPool(3);
        foreach (int count in new[] { 0, 1, 2, 7, 31, 32, 33, 257 })
        {
            foreach (int threads in new[] { 1, 2, 4, 9 })
            {
                var hits = new int[count];
                pool.ForEachRange(count, threads, (start, end) =>
                {
                    start.Should().BeLessThan(end);
                    for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
                });
                hits.Count(h => h != 1).Should().Be(0, $"count {count}, threads {threads}");
            }
        }
    }

    [Fact]
    public void Gemm_results_do_not_depend_on_the_pool_or_the_thread_count()
    {
        int m = 70, n = 300, k = 257;
        var a = TestData.Codes<byte>(m * k, 61);
        var b = TestData.Codes<sbyte>(k * n, 62);
        var packed = PackedInt8Weights.Pack(b, k, n, WeightLayout.KByN, [3], [0.02f]);
        var x = TestData.Floats(m * k, 63, withSpecials: false);
        var w = PackedFloatWeights.Pack(TestData.Floats(k * n, 64, withSpecials: false), k, n, WeightLayout.KByN);
        var expected8 = new int[m * n];
        var expected32 = new float[m * n];
        Int8Gemm.Multiply(a, m, 9, packed, expected8);
        Fp32Gemm.Multiply(x, m, w, [], expected32);
        expected8.Should().Equal(Int8GemmReference.Multiply(a, false, m, k, 9, b, n, Enumerable.Repeat(3, n).ToArray()));
        foreach (int workers in new[] { 0, 1, 3 })
        {
            using var pool = new KernelThreadPool(workers);
            pool.WorkerCount.Should().Be(workers);
            foreach (int threads in new[] { 2, 4, -1 })
            {
                var c8 = new int[m * n];
                var c32 = new float[m * n];
                Int8Gemm.Multiply(a, m, 9, packed, c8, threads, pool);
                Fp32Gemm.Multiply(x, m, w, [], c32, OutputClamp.None, threads, pool);
                c8.Should().Equal(expected8, $"{workers} workers, {threads} threads");
                TestData.BitwiseEqual(c32, expected32);
            }
        }
    }

    [Fact]
    public void Concurrent_callers_on_one_pool_get_their_own_results()
    {
        int m = 40, n = 96, k = 200;
        var packed = PackedInt8Weights.Pack(TestData.Codes<sbyte>(k * n, 71), k, n, WeightLayout.KByN, [], []);
        using var pool = new KernelThreadPool(1);
        var inputs = Enumerable.Range(0, 4).Select(i => TestData.Codes<byte>(m * k, 80 + i)).ToArray();
        var expected = inputs.Select(a =>
        {
            var c = new int[m * n];
            Int8Gemm.Multiply(a, m, 0, packed, c);
            return c;
        }).ToArray();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, caller =>
        {
            for (int round = 0; round < 25; round++)
            {
                var c = new int[m * n];
                Int8Gemm.Multiply(inputs[caller], m, 0, packed, c, 2, pool);
                c.Should().Equal(expected[caller]);
            }
        });
    }

    [Fact]
    public void An_exception_in_a_range_reaches_the_caller_and_the_pool_keeps_working()
    {
        using var pool = new KernelThreadPool(2);
        var act = () => pool.ForEachRange(64, 3, (start, _) =>
        {
            if (start >= 32) throw new InvalidOperationException("range failed");
        });
        act.Should().Throw<InvalidOperationException>().WithMessage("range failed");
        var hits = new int[64];
        pool.ForEachRange(64, 3, (start, end) =>
        {
            for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
        });
        hits.Should().OnlyContain(h => h == 1);
    }

    [Fact]
    public void Parked_workers_wake_for_the_next_call()
    {
        using var pool = new KernelThreadPool(1);
        int caller = Environment.CurrentManagedThreadId;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            Thread.Sleep(50);   // far longer than the spin: the worker is parked
            int helped = 0;
            pool.ForEachRange(16, 2, (_, _) =>
            {
                if (Environment.CurrentManagedThreadId != caller) Interlocked.Increment(ref helped);
                Thread.Sleep(25);
            });
            helped.Should().BeGreaterThan(0, "the parked worker takes ranges once woken");
        }
    }

    [Fact]
    public void A_disposed_pool_refuses_work_and_the_shared_pool_cannot_be_disposed()
    {
        var pool = new KernelThreadPool(1);
        pool.Dispose();
        pool.Dispose();
        var packed = PackedInt8Weights.Pack(TestData.Codes<sbyte>(512 * 512, 91), 512, 512, WeightLayout.KByN, [], []);
        var act = () => Int8Gemm.Multiply(new byte[64 * 512], 64, 0, packed, new int[64 * 512], 2, pool);
        act.Should().Throw<ObjectDisposedException>();
        KernelThreadPool.Shared.Dispose();
        var c = new int[64 * 512];
        Int8Gemm.Multiply(new byte[64 * 512], 64, 0, packed, c, 2);   // the shared pool still works
        var negative = () => new KernelThreadPool(-1);
        negative.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("workerCount");
        KernelThreadPool.Shared.WorkerCount.Should().Be(Environment.ProcessorCount - 1);
    }
}
