package dev.ckpt.tools;

import dev.ckpt.store.CheckpointStore;
import picocli.CommandLine;

/**
 * A checkpoint argument (id, {@code latest}, {@code RUN:latest}, {@code RUN@STEP}) whose shape is
 * wrong is a usage error (exit 2), said before the store is opened; it was exit 1, as for a
 * checkpoint the store does not hold (helper-105). Whether it names a checkpoint is the store's
 * to say.
 */
final class SelectorShape implements CommandLine.ITypeConverter<String> {
    @Override
    public String convert(String value) {
        if (value.isBlank()) {
            // refused with the other empty or blank arguments, as an unset variable (StoreCommand), in every
            // command alike (helper-115: verify and forget said that of "  ", the others "no checkpoint given")
            return value;
        }
        CheckpointStore.selectorProblem(value).ifPresent(why -> {
            // said as every usage error is: what a terminal would act on escaped (CkptTool)
            throw new CommandLine.TypeConversionException("'" + value + "': " + why
                    + " (a checkpoint is named by its id, latest, RUN:latest or RUN@STEP)");
        });
        return value;
    }

    /**
     * The same for a list of them ({@code verify}, {@code forget}): as a converter on a list,
     * picocli reported a bad one as "Unmatched argument", losing the reason.
     */
    static void check(CommandLine.Model.CommandSpec spec, java.util.List<String> values) {
        for (int i = 0; i < values.size(); i++) {
            try {
                new SelectorShape().convert(values.get(i));
            } catch (CommandLine.TypeConversionException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "Invalid value for CKPT: " + e.getMessage());
            }
        }
    }
}
