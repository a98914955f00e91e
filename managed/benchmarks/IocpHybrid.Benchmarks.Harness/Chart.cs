using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// The ratio chart: one horizontal bar per contender, grouped by case, a line at 1.0 (the baseline),
/// written as an 8-bit RGB PNG with ZLibStream and a built-in 5×7 bitmap font: no drawing library,
/// no native dependency.
/// </summary>
public static class Chart
{
    private const int Scale = 2, Cw = 6 * Scale, Lh = 11 * Scale, LabelW = 46 * Cw, BarW = 520, Pad = 16;

    public static void Write(string path, IReadOnlyList<CaseResult> cases)
    {
        var groups = cases.Where(c => c.Contenders.Any(x => x.Ratio.HasValue)).ToList();
        int rows = groups.Sum(g => 1 + g.Contenders.Count(x => x.Ratio.HasValue) + 1);
        int width = Pad * 2 + LabelW + BarW + 12 * Cw, height = Pad * 2 + Lh * (rows + 2);
        var img = new Image(width, height);
        img.Fill(0, 0, width, height, (255, 255, 255));
        int y = Pad;
        img.Text(Pad, y, "IOCPHYBRID BENCHMARKS: RATIO TO THE BASELINE (>1 = BETTER), MEDIANS", (0, 0, 0));
        y += Lh * 2;
        // DefaultIfEmpty: no ratio at all (every case skipped, or --filter on section 6, which has no baseline) still gets its (empty) chart.
        double maxRatio = Math.Max(1.5, groups.SelectMany(g => g.Contenders).Where(x => x.Ratio.HasValue).Select(x => Math.Min(x.Ratio!.Value, 8.0)).DefaultIfEmpty(1.0).Max());
        int x0 = Pad + LabelW;
        int one = (int)(BarW / maxRatio);
        img.Fill(x0 + one, y - 4, 2, height - Pad - y + 4, (0, 0, 0)); // the baseline, 1.0, under the bars
        foreach (var g in groups)
        {
            img.Text(Pad, y, Trim($"{g.Section} {g.Name}", (LabelW + BarW) / Cw), (0, 0, 120));
            y += Lh;
            foreach (var c in g.Contenders.Where(x => x.Ratio.HasValue))
            {
                double r = c.Ratio!.Value;
                int w = Math.Max(1, (int)(Math.Min(r, maxRatio) * one));
                var color = c.Name == g.Baseline ? (150, 150, 150) : r >= 1 ? (60, 150, 60) : (200, 70, 60);
                img.Text(Pad, y + 2, Trim(c.Name, LabelW / Cw - 1), (0, 0, 0));
                img.Fill(x0, y + 2, w, Lh - 6, color);
                img.Text(x0 + Math.Max(w, one + 2) + 6, y + 2, r.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "X", (0, 0, 0));
                y += Lh;
            }

            y += Lh;
        }

        img.SavePng(path);
    }

    private static string Trim(string s, int max) => s.Length <= max ? s : s[..(max - 2)] + "..";

    private sealed class Image(int width, int height)
    {
        private readonly byte[] _px = new byte[width * height * 3];

        public void Fill(int x, int y, int w, int h, (int R, int G, int B) c)
        {
            for (int j = Math.Max(0, y); j < Math.Min(height, y + h); j++)
            {
                for (int i = Math.Max(0, x); i < Math.Min(width, x + w); i++)
                {
                    int o = (j * width + i) * 3;
                    _px[o] = (byte)c.R; _px[o + 1] = (byte)c.G; _px[o + 2] = (byte)c.B;
                }
            }
        }

        public void Text(int x, int y, string s, (int, int, int) c)
        {
            foreach (char ch in s.ToUpperInvariant())
            {
                if (Font.Glyphs.TryGetValue(ch, out string[]? rows))
                {
                    for (int r = 0; r < 7; r++)
                    {
                        for (int b = 0; b < 5; b++)
                        {
                            if (rows[r][b] == '#')
                            {
                                Fill(x + b * Scale, y + r * Scale, Scale, Scale, c);
                            }
                        }
                    }
                }

                x += Cw;
            }
        }

        public void SavePng(string path)
        {
            using var fs = File.Create(path);
            fs.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
            var ihdr = new byte[13];
            BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
            BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
            ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
            Chunk(fs, "IHDR", ihdr);
            using var raw = new MemoryStream();
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (int j = 0; j < height; j++)
                {
                    z.WriteByte(0); // filter: none
                    z.Write(_px, j * width * 3, width * 3);
                }
            }

            Chunk(fs, "IDAT", raw.ToArray());
            Chunk(fs, "IEND", []);
        }

        private static void Chunk(Stream s, string type, byte[] data)
        {
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
            s.Write(len);
            byte[] td = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
            s.Write(td);
            BinaryPrimitives.WriteUInt32BigEndian(len, Crc32.HashToUInt32(td));
            s.Write(len);
        }
    }
}
