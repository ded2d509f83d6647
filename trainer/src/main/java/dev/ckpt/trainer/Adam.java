package dev.ckpt.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam (Kingma and Ba), written on NDArrays so the moments are ours to save and load: DJL's
 * built-in optimizer keeps them private. Follows {@code torch.optim.Adam} without weight
 * decay or amsgrad; the state is named as PyTorch names it ({@code exp_avg},
 * {@code exp_avg_sq}, per parameter, and the step count).
 */
final class Adam {
    final float lr;
    final float beta1;
    final float beta2;
    final float eps;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private long step;

    Adam(float lr, float beta1, float beta2, float eps) {
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    /** Zero moments for every parameter (a fresh optimizer). */
    void init(Map<String, NDArray> params) {
        expAvg.clear();
        expAvgSq.clear();
        params.forEach((name, p) -> {
            expAvg.put(name, p.zerosLike());
            expAvgSq.put(name, p.zerosLike());
        });
        step = 0;
    }

    /**
     * One update of every parameter in place. Temporaries live in {@code scratch}, which
     * the caller closes after the step.
     */
    void update(Map<String, NDArray> params, Map<String, NDArray> grads, NDManager scratch) {
        step++;
        float bc1 = (float) (1 - Math.pow(beta1, step));
        float bc2 = (float) (1 - Math.pow(beta2, step));
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray g = grads.get(e.getKey());
            NDArray m = expAvg.get(e.getKey());
            NDArray v = expAvgSq.get(e.getKey());
            m.muli(beta1).addi(temp(g.mul(1 - beta1), scratch));
            v.muli(beta2).addi(temp(temp(g.square(), scratch).muli(1 - beta2), scratch));
            NDArray denom = temp(v.sqrt(), scratch).divi((float) Math.sqrt(bc2)).addi(eps);
            NDArray upd = temp(m.mul(lr / bc1), scratch).divi(denom);
            e.getValue().subi(upd);
        }
    }

    private static NDArray temp(NDArray a, NDManager scratch) {
        a.attach(scratch);
        return a;
    }

    long step() {
        return step;
    }

    Map<String, NDArray> expAvg() {
        return expAvg;
    }

    Map<String, NDArray> expAvgSq() {
        return expAvgSq;
    }

    /** Replaces the state (moments must match the parameters' shapes; checked by the loader). */
    void load(Map<String, NDArray> m, Map<String, NDArray> v, long steps) {
        expAvg.values().forEach(NDArray::close);
        expAvgSq.values().forEach(NDArray::close);
        expAvg.clear();
        expAvgSq.clear();
        expAvg.putAll(m);
        expAvgSq.putAll(v);
        step = steps;
    }
}
