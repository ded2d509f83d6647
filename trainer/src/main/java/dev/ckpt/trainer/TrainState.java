package dev.ckpt.trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The training position saved in {@code state.json}: everything but tensors needed to resume exactly. */
final class TrainState {
    static final int FORMAT = 1;
    static final int RECENT = 20;

    long step;
    long epoch;
    int dataCursor;
    long seed;
    long optimizerStep;
    double bestLoss = Double.NaN;
    final List<Double> recentLosses = new ArrayList<>();

    void record(double loss) {
        recentLosses.add(loss);
        if (recentLosses.size() > RECENT) {
            recentLosses.remove(0);
        }
        if (Double.isNaN(bestLoss) || loss < bestLoss) {
            bestLoss = loss;
        }
    }

    Double lastLoss() {
        return recentLosses.isEmpty() ? null : recentLosses.get(recentLosses.size() - 1);
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("epoch", epoch);
        m.put("step", step);
        m.put("data_cursor", dataCursor);
        m.put("seed", seed);
        m.put("optimizer_step", optimizerStep);
        m.put("best_loss", Double.isNaN(bestLoss) ? null : bestLoss);
        m.put("recent_losses", recentLosses);
        return m;
    }
}
