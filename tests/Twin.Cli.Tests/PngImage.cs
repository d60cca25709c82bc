using System.Buffers.Binary;
using System.IO.Compression;

namespace Twin.Cli.Tests;

/// <summary>Just enough of a PNG decoder (8-bit RGB/RGBA, no interlace) to look at a screenshot's pixels.</summary>
public sealed class PngImage
{
    private PngImage(int width, int height, byte[] rgb)
    {
        Width = width;
        Height = height;
        Rgb = rgb;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Pixels as RGB triples, row by row.</summary>
    public byte[] Rgb { get; }

    public static PngImage Load(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        if (!file.AsSpan(0, 8).SequenceEqual(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 })) throw new InvalidDataException("not a PNG file");
        int pos = 8, width = 0, height = 0, colorType = 0;
        var idat = new MemoryStream();
        while (pos < file.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(file, pos + 4, 4);
            ReadOnlySpan<byte> data = file.AsSpan(pos + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[12] != 0) throw new InvalidDataException("only 8-bit, non-interlaced PNGs are read here");
                colorType = data[9];
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }
            pos += 12 + length;
        }
        int bpp = colorType switch { 2 => 3, 6 => 4, _ => throw new InvalidDataException($"PNG color type {colorType} is not read here") };
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        byte[] scan = raw.ToArray();
        int stride = width * bpp;
        var pixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            byte filter = scan[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                byte value = scan[y * (stride + 1) + 1 + x];
                int a = x >= bpp ? pixels[y * stride + x - bpp] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
                int c = x >= bpp && y > 0 ? pixels[(y - 1) * stride + x - bpp] : 0;
                int predicted = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG filter {filter}"),
                };
                pixels[y * stride + x] = (byte)(value + predicted);
            }
        }
        var rgb = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++)
        {
            rgb[i * 3] = pixels[i * bpp];
            rgb[i * 3 + 1] = pixels[i * bpp + 1];
            rgb[i * 3 + 2] = pixels[i * bpp + 2];
        }
        return new PngImage(width, height, rgb);
    }

    /// <summary>Distinct colors, and the share of pixels that are not the most common one.</summary>
    public (int Colors, double NonBackground) Variety()
    {
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < Rgb.Length; i += 3)
        {
            int key = Rgb[i] << 16 | Rgb[i + 1] << 8 | Rgb[i + 2];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        int background = counts.Values.Max();
        return (counts.Count, 1.0 - (double)background / (Width * Height));
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
