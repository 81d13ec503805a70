namespace Quant.Net.Onnx;

/// <summary>A decoded image: interleaved 8-bit pixels, row-major (height × width × channels).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Channels">1 (grey) or 3 (RGB).</param>
/// <param name="Pixels">The pixel bytes.</param>
public sealed record DecodedImage(int Width, int Height, int Channels, byte[] Pixels)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}
