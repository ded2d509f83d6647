package dev.ckpt.tools;

import dev.ckpt.store.testing.TestDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bind mount gives the store's directory a second name that a path's text does not show
 * (helper-122): a restore into a directory holding such a mount wrote the checkpoint's
 * {@code mnt/ROOT} over the store's ROOT, and a push of one failed with "ROOT changed while
 * it was being saved" on every try. Now push, restore and export refuse such a directory
 * before they write, naming the mount, whether it is the store, holds it, or lies in it.
 */
class BindMountOverlapCliTest {
    @TempDir
    Path tmp;

    private final Cli cli = new Cli(Map.of(), "--progress", "none");

    @Test
    void aSecondNameOfTheStoreThroughABindMountIsRefusedByPushRestoreAndExport() throws Exception {
        MountNamespace.assumeAvailable(tmp);
        Path store = tmp.resolve("store");
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("mnt"));
        Files.writeString(src.resolve("mnt/ROOT"), "{\"junk\":true}");
        Cli.Result pushed = cli.run("push", store.toString(), src.toString(), "--run", "e", "--step", "1");
        assertEquals(0, pushed.code(), pushed.toString());
        String id = pushed.out().trim();
        Path holder = tmp.resolve("holder");   // holder/mnt: the store
        Path same = tmp.resolve("same");       // the store
        Path inChunks = tmp.resolve("inchunks"); // the store's chunks/
        Path upper = tmp.resolve("upper");     // upper/t: the directory that holds the store
        Path parentBind = tmp.resolve("pb"); // the store's parent: pb/store is the store (helper-124)
        Path deep = tmp.resolve("deep");     // a directory two levels into the store (helper-124: chunks/8d)
        String shard;
        try (java.util.stream.Stream<Path> l = Files.list(store.resolve("chunks"))) {
            shard = l.filter(Files::isDirectory).findFirst().orElseThrow().getFileName().toString();
        }
        Path fresh = tmp.resolve("fresh");  // holds no store yet: fresh/st is made by the push
        Path freshBind = tmp.resolve("fb");  // fb: fresh, under a second name (helper-125: not looked at while no store)
        for (Path d : List.of(holder.resolve("mnt"), same, inChunks, upper, parentBind, deep, fresh, freshBind)) {
            Files.createDirectories(d);
        }
        Files.writeString(fresh.resolve("weights.bin"), "w");
        Map<String, byte[]> before = TestDirs.snapshot(store);
        String q = MountNamespace.q(store);
        String setup = "mount --bind " + q + " " + MountNamespace.q(holder.resolve("mnt")) + "\nmount --bind " + q + " "
                + MountNamespace.q(same) + "\nmount --bind " + MountNamespace.q(store.resolve("chunks")) + " "
                + MountNamespace.q(inChunks) + "\nmkdir -p " + MountNamespace.q(upper.resolve("t")) + "\nmount --bind "
                + MountNamespace.q(tmp) + " " + MountNamespace.q(upper.resolve("t")) + "\nmount --bind " + MountNamespace.q(tmp)
                + " " + MountNamespace.q(parentBind) + "\nmount --bind " + MountNamespace.q(store.resolve("chunks/" + shard)) + " "
                + MountNamespace.q(deep) + "\nmount --bind " + MountNamespace.q(fresh) + " " + MountNamespace.q(freshBind);
        List<List<String>> commands = List.of(
                MountNamespace.cmd("restore", store.toString(), id, holder.toString()),
                MountNamespace.cmd("push", store.toString(), holder.toString(), "--run", "b", "--step", "1"),
                MountNamespace.cmd("restore", store.toString(), id, same.toString()),
                MountNamespace.cmd("restore", store.toString(), id, inChunks.resolve("x").toString()),
                MountNamespace.cmd("restore", store.toString(), id, holder.resolve("mnt/sub").toString()),
                MountNamespace.cmd("push", store.toString(), upper.toString(), "--run", "b", "--step", "1"),
                MountNamespace.cmd("export", store.toString(), id, same.resolve("ROOT").toString()),
                MountNamespace.cmd("restore", store.toString(), id, parentBind.toString()),
                MountNamespace.cmd("push", store.toString(), parentBind.toString(), "--run", "b", "--step", "1"),
                MountNamespace.cmd("restore", store.toString(), id, deep.toString()),
                MountNamespace.cmd("push", store.toString(), deep.toString(), "--run", "b", "--step", "1"),
                MountNamespace.cmd("push", fresh.resolve("st").toString(), freshBind.toString(), "--run", "b", "--step", "1"),
                MountNamespace.cmd("restore", parentBind.resolve("store").toString(), id, store.toString()),
                MountNamespace.cmd("restore", store.toString(), id, tmp.resolve("elsewhere").toString()));
        List<Cli.Result> rs = MountNamespace.run(tmp.resolve("work"), setup, Map.of(), commands, null);
        String[] says = {
                "cannot restore into " + holder + ": it holds the store " + store + " (" + holder.resolve("mnt")
                        + " is the store's directory under a second name: a bind mount",
                "cannot push " + holder + ": it holds the store " + store + " (" + holder.resolve("mnt")
                        + " is the store's directory under a second name",
                "cannot restore into " + same + ": it is the store (" + same + " is the store's directory under a second name",
                "cannot restore into " + inChunks.resolve("x") + ": it is inside the store " + store + " (" + inChunks
                        + " is a directory of the store under a second name",
                "cannot restore into " + holder.resolve("mnt/sub") + ": it is inside the store",
                "cannot push " + upper + ": it holds the store " + store + " (" + upper.resolve("t")
                        + " is a directory that holds the store under a second name",
                "cannot write archive " + same.resolve("ROOT") + ": it is the store's own ROOT",
                "cannot restore into " + parentBind + ": it holds the store " + store + " (" + parentBind
                        + " is a directory that holds the store under a second name",
                "cannot push " + parentBind + ": it holds the store",
                "cannot restore into " + deep + ": it is inside the store " + store + " (" + deep
                        + " is a directory of the store under a second name",
                "cannot push " + deep + ": it is inside the store",
                "cannot push " + freshBind + ": it holds the store " + fresh.resolve("st"),
                // the store given through the bind, the target by its own name: the store's second name is said
                "cannot restore into " + store + ": it is the store (" + parentBind.resolve("store") + " is the directory "
                        + store + " under a second name"};
        for (int i = 0; i < says.length; i++) {
            Cli.Result r = rs.get(i);
            assertEquals(1, r.code(), commands.get(i) + "\n" + r);
            assertTrue(r.err().contains(says[i]) && r.err().contains("nothing was written"), commands.get(i) + "\n" + r);
        }
        assertEquals(0, rs.get(says.length).code(), "a restore elsewhere works: " + rs.get(says.length));
        TestDirs.assertSameTree(before, store);
        assertEquals(0, cli.run("verify", store.toString(), "--read-data").code());
    }
}
