using Quant.Net.Kernels;

namespace Quant.Net.Onnx;

/// <summary>Block-quantized weights in ONNX Runtime's MatMulNBits layout (the packing is ONNX's, not the kernels').</summary>
internal static class MatMulNBitsLayout
{
    /// <summary>
    /// ONNX Runtime's MatMulNBits layout: B [N, BlockCount, BlockSize·Bits/8] (4-bit: element 2i in the low nibble),
    /// scales [N·BlockCount], zero points packed per row (ceil(BlockCount·Bits/8) bytes, 4-bit: low nibble first), or
    /// null when symmetric (MatMulNBits' default zero point is the middle code).
    /// </summary>
    public static (byte[] B, float[] Scales, byte[]? ZeroPoints) From(BlockQuantizedWeights w)
    {
        int blob = w.BlockSize * w.Bits / 8, zpBytes = ((w.BlockCount * w.Bits) + 7) / 8;
        var b = new byte[(long)w.N * w.BlockCount * blob];
        var scales = new float[w.N * w.BlockCount];
        byte[]? zps = w.IsSymmetric ? null : new byte[w.N * zpBytes];
        for (int row = 0; row < w.N; row++)
        {
            for (int blk = 0; blk < w.BlockCount; blk++)
            {
                scales[(row * w.BlockCount) + blk] = w.GetScale(row, blk);
                int zp = w.GetZeroPoint(row, blk);
                if (zps is not null)
                {
                    if (w.Bits == 4)
                    {
                        zps[(row * zpBytes) + (blk / 2)] |= (byte)(zp << ((blk % 2) * 4));
                    }
                    else
                    {
                        zps[(row * zpBytes) + blk] = (byte)zp;
                    }
                }

                long offset = (((long)row * w.BlockCount) + blk) * blob;
                for (int i = 0; i < w.BlockSize; i++)
                {
                    int code = w.GetCode(row, (blk * w.BlockSize) + i);
                    if (w.Bits == 4)
                    {
                        b[offset + (i / 2)] |= (byte)(code << ((i % 2) * 4));
                    }
                    else
                    {
                        b[offset + i] = (byte)code;
                    }
                }
            }
        }

        return (b, scales, zps);
    }
}
