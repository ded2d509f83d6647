package dev.ckpt.trainer;

import dev.ckpt.store.config.StoreConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Ranks on one machine share its cores: each store's CPU pool takes its share, not all of them. */
class RankCoresTest {
    @Test
    void ranksOnOneMachineSplitItsCoresBetweenTheirCpuPools() {
        assertEquals(2, Trainer.storeConfig(Map.of("LOCAL_WORLD_SIZE", "4"), 8).parallelism(), "torchrun");
        assertEquals(2, Trainer.storeConfig(Map.of("SLURM_NTASKS_PER_NODE", "3"), 8).parallelism(), "SLURM");
        assertEquals(4, Trainer.storeConfig(Map.of("LOCAL_WORLD_SIZE", "2", "SLURM_NTASKS_PER_NODE", "8"), 8).parallelism(),
                "torchrun's count first");
        assertEquals(1, Trainer.storeConfig(Map.of("LOCAL_WORLD_SIZE", "16"), 8).parallelism(), "at least one thread");
    }

    @Test
    void aloneOrWithAValueThatIsNotACountTheDefaultsStand() {
        int defaults = StoreConfig.defaults().parallelism();
        assertEquals(defaults, Trainer.storeConfig(Map.of(), 8).parallelism());
        for (String bad : new String[]{"", "0", "-2", "four", "2(x3)", "99999999999"}) {
            assertEquals(defaults, Trainer.storeConfig(Map.of("LOCAL_WORLD_SIZE", bad), 8).parallelism(), bad);
        }
    }
}
