package dev.ckpt.store.chunk;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkerTest {
    @TempDir
    Path tmp;

    private static void assertCovers(List<Chunker.Piece> pieces, long size, int max) {
        long at = 0;
        for (Chunker.Piece p : pieces) {
            assertEquals(at, p.offset());
            assertTrue(p.length() > 0 && p.length() <= max, p.toString());
            at += p.length();
        }
        assertEquals(size, at);
    }

    @Test
    void plainFilesAreCutIntoFixedSizePieces() throws Exception {
        Path f = Files.write(tmp.resolve("data.bin"), new byte[10_000]);
        List<Chunker.Piece> pieces = new Chunker(4096).pieces(f, 10_000);
        assertEquals(List.of(new Chunker.Piece(0, 4096), new Chunker.Piece(4096, 4096), new Chunker.Piece(8192, 1808)), pieces);
        assertEquals(List.of(), new Chunker(4096).pieces(f, 0));
    }

    private Set<String> chunkHashes(Path f) throws Exception {
        byte[] data = Files.readAllBytes(f);
        Set<String> out = new HashSet<>();
        List<Chunker.Piece> pieces = new Chunker(16 * 1024).pieces(f, data.length);
        assertCovers(pieces, data.length, 16 * 1024);
        for (Chunker.Piece p : pieces) {
            out.add(Hashes.sha256Hex(data, (int) p.offset(), p.length()));
        }
        return out;
    }

    private static float[] tensor(int n, long seed) {
        java.util.Random rnd = new java.util.Random(seed);
        float[] t = new float[n];
        for (int i = 0; i < n; i++) {
            t[i] = (float) rnd.nextGaussian();
        }
        return t;
    }

    @Test
    void safetensorsAreCutAtTensorBoundariesSoAnUnchangedTensorKeepsItsChunks() throws Exception {
        // t0 grows between the two files, which shifts every later tensor's offset (and the
        // header length): fixed-size cutting would share nothing, tensor-boundary cutting shares t1 and t2.
        float[] t1 = tensor(20_000, 2);
        float[] t2 = tensor(9_000, 3);
        Path a = tmp.resolve("a.safetensors");
        Path b = tmp.resolve("b.safetensors");
        TestDirs.safetensors(a, tensor(3_000, 1), t1, t2);
        TestDirs.safetensors(b, tensor(3_500, 1), t1, t2);
        Set<String> ha = chunkHashes(a);
        Set<String> hb = chunkHashes(b);
        Set<String> shared = new HashSet<>(ha);
        shared.retainAll(hb);
        // t1: 80 000 bytes = 5 chunks of 16 KiB; t2: 36 000 bytes = 3 chunks
        assertEquals(8, shared.size(), "shared chunks of " + ha.size());
        assertTrue(ha.size() - shared.size() <= 2, "only the header and t0 differ");
    }

    @Test
    void fixedSizeCuttingWouldShareNothingThere() throws Exception {
        float[] t1 = tensor(20_000, 2);
        Path a = tmp.resolve("a.bin");
        Path b = tmp.resolve("b.bin");
        TestDirs.safetensors(a, tensor(3_000, 1), t1);
        TestDirs.safetensors(b, tensor(3_500, 1), t1);
        Set<String> ha = chunkHashes(a);
        ha.retainAll(chunkHashes(b));
        assertEquals(0, ha.size(), "the control: same bytes, shifted, under fixed-size cutting");
    }

    @Test
    void aFileNamedSafetensorsThatIsNotOneFallsBackToFixedSize() throws Exception {
        Path f = Files.write(tmp.resolve("x.safetensors"), new byte[5000]);
        List<Chunker.Piece> pieces = new Chunker(2048).pieces(f, 5000);
        assertCovers(pieces, 5000, 2048);
        assertEquals(3, pieces.size());
    }
}
