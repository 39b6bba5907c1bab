namespace Ftte.Data.Internal;

/// <summary>
/// Reads CIFAR-10's binary batches (data_batch_1.bin … data_batch_5.bin, test_batch.bin): records of
/// one label byte then 3072 pixel bytes, the 1024 red values of the 32×32 image row-major, then green,
/// then blue — already (C, H, W), so records copy straight into the feature array.
/// </summary>
internal static class Cifar10Reader
{
    public const int Channels = 3, Height = 32, Width = 32;
    public const int PixelBytes = Channels * Height * Width;
    public const int RecordBytes = 1 + PixelBytes;
    public const int ClassCount = 10;

    /// <summary>Reads the batches in order into one array of raw 0–255 values.</summary>
    public static (float[] Features, int[] Labels) Read(IReadOnlyList<string> paths)
    {
        long total = 0;
        foreach (string path in paths)
        {
            long length = new FileInfo(path).Length;
            if (length % RecordBytes != 0)
            {
                long partial = length - length % RecordBytes;
                throw new DataFormatException(path, partial,
                    $"a whole record of {RecordBytes} bytes (1 label + {PixelBytes} pixels); the file length {length} is not a multiple of {RecordBytes}",
                    $"{length - partial} bytes");
            }
            total += length / RecordBytes;
        }

        var features = new float[total * PixelBytes];
        var labels = new int[total];
        var record = new byte[RecordBytes];
        int next = 0;
        foreach (string path in paths)
        {
            using var reader = DataFileReader.Open(path);
            long records = new FileInfo(path).Length / RecordBytes;
            for (long r = 0; r < records; r++, next++)
            {
                long at = reader.Offset;
                reader.ReadExactly(record, $"record {r} of {records}");
                if (record[0] >= ClassCount)
                    throw new DataFormatException(path, at, $"a label byte in [0, {ClassCount}) at the start of record {r}", record[0].ToString());
                labels[next] = record[0];
                Span<float> dst = features.AsSpan(next * PixelBytes, PixelBytes);
                for (int i = 0; i < PixelBytes; i++) dst[i] = record[1 + i];
            }
        }
        return (features, labels);
    }
}
