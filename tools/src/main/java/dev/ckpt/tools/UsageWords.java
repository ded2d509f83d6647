package dev.ckpt.tools;

import picocli.CommandLine;

import dev.ckpt.store.util.NearNames;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Usage errors in words a user can act on, where picocli's own would name a Java type ("'abc'
 * is not a long") or say nothing of the cause ("Missing required parameter: 'DIR'" for a DIR
 * that starts with '-'): found by a new-user tryout (helper-91).
 */
final class UsageWords {
    private UsageWords() {
    }

    /**
     * Whether {@code args} ask for JSON: {@code --json}, or {@code --json=} a value the switch
     * reads as true ({@link #onOff}: {@code true} in any case, blanks around it), among them
     * before a {@code --}, as an option's value too (a usage error cannot say which).
     */
    static boolean jsonAsked(String[] args) {
        for (String arg : args) {
            if (arg.equals("--")) {
                return false;
            }
            if (arg.equals("--json") || arg.startsWith("--json=") && arg.substring(7).trim().equalsIgnoreCase("true")) {
                return true;
            }
        }
        return false;
    }

    /**
     * For a mistyped command or option, the names it was probably meant as ({@link NearNames}),
     * as picocli's lines put them: "Did you mean: ckpt-tool restore?", "Possible solutions:
     * --json"; nothing when none is near. picocli's own suggested {@code push} for {@code bogus}
     * and {@code --stall-timeout} for {@code --stepp}. A one-letter option ({@code -x}) is near
     * every other, so it gets none.
     */
    static void printSuggestions(CommandLine.ParameterException ex, PrintWriter err) {
        String line = suggestion(ex);
        if (line != null) {
            err.println(line);
        }
    }

    /** {@link #printSuggestions}'s line, or null. */
    static String suggestion(CommandLine.ParameterException ex) {
        java.util.regex.Matcher help = UNKNOWN_SUBCOMMAND.matcher(String.valueOf(ex.getMessage()));
        if (help.matches()) {
            // help's own refusal of a name (ckpt-tool help lss): the commands near it, as help would take them
            CommandLine.Model.CommandSpec spec = ex.getCommandLine().getCommandSpec();
            List<String> near = NearNames.near(help.group(1), spec.subcommands().keySet());
            return near.isEmpty() ? null : "Did you mean: " + near.stream().map(n -> spec.qualifiedName() + " help " + n)
                    .collect(Collectors.joining(" or ")) + "?";
        }
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || u.getUnmatched().isEmpty()) {
            return null;
        }
        String typed = u.getUnmatched().get(0);
        CommandLine.Model.CommandSpec spec = ex.getCommandLine().getCommandSpec();
        if (typed.startsWith("-")) {
            List<String> near = typed.length() < 4 ? List.of() : NearNames.near(typed, longOptions(spec));
            return near.isEmpty() ? null : "Possible solutions: " + String.join(", ", near);
        }
        List<String> near = NearNames.near(typed, spec.subcommands().keySet());
        return near.isEmpty() ? null : "Did you mean: " + near.stream().map(n -> spec.qualifiedName() + " " + n)
                .collect(Collectors.joining(" or ")) + "?";
    }

    /** picocli's help command's words for a name that is no command. */
    private static final java.util.regex.Pattern UNKNOWN_SUBCOMMAND = java.util.regex.Pattern.compile(
            "Unknown subcommand '(.*)'\\.", java.util.regex.Pattern.DOTALL);

    /** The long names of {@code spec}'s options that its help shows. */
    static List<String> longOptions(CommandLine.Model.CommandSpec spec) {
        return spec.options().stream().filter(o -> !o.hidden()).flatMap(o -> Arrays.stream(o.names()))
                .filter(n -> n.startsWith("--")).toList();
    }

    /**
     * The usage error's reason: {@link #plain}'s words, but "Unknown command: 'psuh'" where the
     * first argument names no command (picocli's "Unmatched arguments: 'psuh', '--json', 'st',
     * 'd'" listed every argument after it, valid options too, as if each were wrong).
     */
    static String message(CommandLine.ParameterException ex) {
        CommandLine c = ex.getCommandLine();
        if (ex instanceof CommandLine.UnmatchedArgumentException u && c.getParent() == null
                && !c.getCommandSpec().subcommands().isEmpty() && !u.getUnmatched().isEmpty()
                && !u.getUnmatched().get(0).startsWith("-")) {
            return "Unknown command: '" + u.getUnmatched().get(0) + "'";
        }
        return plain(ex.getMessage());
    }

    /**
     * picocli's words for a usage error without its parser's indexes: "Invalid value for CKPT: …"
     * where it said "Invalid value for positional parameter at index 1 (CKPT): …" (verify and forget
     * said the former: helper-117), and "Unmatched arguments: 'lss', …" for "Unmatched arguments
     * from index 0: …" and "Unmatched argument at index 4: …" (helper-118, 119: parser jargon).
     */
    static String plain(String message) {
        if (message == null) {
            return "";
        }
        return message.replaceFirst("^Invalid value for positional parameter at index [0-9.*]+ \\(([^)]+)\\): ",
                "Invalid value for $1: ").replaceFirst("^(Unmatched arguments?) (from|at) index \\d+: ", "$1: ");
    }

    /**
     * For a missing STORE, DIR or other name when the arguments hold one that starts with '-'
     * (read as an option, so "Missing required parameter: 'DIR'" said nothing of it: helper-91's
     * {@code push S -ddir ...}): the hint to put it after {@code --}; else "". A dashed checkpoint name
     * ({@code --latest}) gets the hint to drop the dashes instead, as a name after {@code --} would
     * be refused too.
     */
    static String dashedName(CommandLine.ParameterException ex, String[] args) {
        // a positional refused for its value may be the next one moved up (helper-117: restore S -x DIR said DIR was no
        // checkpoint, and nothing of -x)
        if (!(ex instanceof CommandLine.MissingParameterException) && (ex.getMessage() == null
                || !ex.getMessage().startsWith("Invalid value for positional parameter"))) {
            return "";
        }
        var options = ex.getCommandLine().getCommandSpec().optionsMap();
        boolean value = false; // the argument is an option's value (--run -x): no name, and no hint for it
        for (String arg : args) {
            if (value) {
                value = false;
                continue;
            }
            if (arg.equals("--")) {
                return "";
            }
            String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            CommandLine.Model.OptionSpec o = options.get(name);
            if (o != null) {
                value = !arg.contains("=") && o.arity().max() > 0;
                continue;
            }
            if (arg.startsWith("-") && arg.length() > 1 && !arg.matches("-[0-9].*")) {
                if (checkpointAtFault(ex)) {
                    // only where a checkpoint is what is missing or refused (helper-121: restore S latest -latest,
                    // DIR missing, was told to name the checkpoint without dashes)
                    String checkpoint = dashedCheckpoint(arg);
                    return checkpoint != null ? checkpoint : " ('" + arg.replace('\0', '?') + "' was read as an option;"
                            + " a checkpoint's name never starts with '-')";
                }
                // a mistyped option (push S DIR --stepp 1: "Missing required option: '--step=STEP'") is not a name
                List<String> near = arg.length() < 4 ? List.of() : NearNames.near(arg, longOptions(ex.getCommandLine()
                        .getCommandSpec()));
                if (!near.isEmpty()) {
                    return " ('" + arg.replace('\0', '?') + "' is not an option of this command: did you mean "
                            + String.join(" or ", near) + "?)";
                }
                return " ('" + arg.replace('\0', '?') + "' was read as an option: a name that starts with '-' goes"
                        + " after --, with every option before it and the names after it in their order)";
            }
        }
        return "";
    }

    /**
     * For an unknown option that, without its dashes, is a checkpoint's name ({@code verify S
     * -latest}, helper-119: a bare "Unknown option"): the hint to drop the dashes; else "".
     */
    static String unknownDashedCheckpoint(CommandLine.ParameterException ex) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || u.getUnmatched().isEmpty()
                || String.valueOf(ex.getMessage()).contains("(while processing option: ")) {
            // -hlatest is -h and then -latest: "named without dashes, as latest" did not fit what was typed (helper-121)
            return "";
        }
        // only where another checkpoint could go: a list of them (verify, forget); restore S latest DIR -latest has
        // its checkpoint, and dropping the dashes left an argument over (helper-121)
        boolean takesMore = false;
        for (CommandLine.Model.PositionalParamSpec p : ex.getCommandLine().getCommandSpec().positionalParameters()) {
            takesMore |= CHECKPOINT_LABELS.contains(p.paramLabel()) && p.isMultiValue();
        }
        String hint = takesMore ? dashedCheckpoint(u.getUnmatched().get(0)) : null;
        return hint == null ? "" : hint;
    }

    private static final java.util.Set<String> CHECKPOINT_LABELS = java.util.Set.of("CKPT", "A", "B");

    /** Whether the argument missing or refused is a checkpoint (CKPT, or diff's A or B). */
    private static boolean checkpointAtFault(CommandLine.ParameterException ex) {
        List<CommandLine.Model.ArgSpec> specs = new java.util.ArrayList<>();
        if (ex instanceof CommandLine.MissingParameterException m && m.getMissing() != null) {
            specs.addAll(m.getMissing());
        }
        if (ex.getArgSpec() != null) {
            specs.add(ex.getArgSpec());
        }
        for (CommandLine.Model.ArgSpec a : specs) {
            if (a instanceof CommandLine.Model.PositionalParamSpec p && CHECKPOINT_LABELS.contains(p.paramLabel())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The hint for {@code arg} when it is a dashed {@code latest}, {@code RUN:latest},
     * {@code RUN@STEP} or checkpoint id ({@code RUN-sSTEP-xxxxxxxx}); else null. A dashed name of
     * another shape is not told so: "--record" is a run name's shape too, and more likely a
     * mistyped option.
     */
    private static String dashedCheckpoint(String arg) {
        String bare = arg.replaceFirst("^-+", "");
        boolean selector = bare.equals("latest") || bare.endsWith(":latest") || bare.matches(".+@[0-9]+")
                || bare.matches(".+-s[0-9]+-(e[0-9]+|[0-9a-f]{8})");
        if (!arg.startsWith("-") || !selector || dev.ckpt.store.CheckpointStore.selectorProblem(bare).isPresent()) {
            return null;
        }
        return " ('" + arg.replace('\0', '?') + "' was read as an option: a checkpoint is named without dashes, as "
                + bare.replace('\0', '?') + ")";
    }

    /**
     * For an option given after {@code --}, where it is read as a name ({@code gc -- S
     * --dry-run}: "Unknown option: '--dry-run'", with picocli's suggestion of the same option;
     * {@code push S -- SRC --run r}: "Missing required options", helper-119): the hint that
     * options go before {@code --}; else "".
     */
    static String afterDoubleDash(CommandLine.ParameterException ex, String[] args) {
        // any usage error: also "Invalid value for CKPT: '--keep-last'" (helper-121: forget S --run r -- --keep-last 1)
        var options = ex.getCommandLine().getCommandSpec().optionsMap();
        boolean value = false;
        boolean names = false;
        for (String arg : args) {
            if (names) {
                String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                if (options.containsKey(name)) {
                    return " ('" + arg.replace('\0', '?') + "' follows --, so it was read as a name, not an option:"
                            + " every option goes before --)";
                }
                continue;
            }
            if (value) {
                value = false;
                continue;
            }
            if (arg.equals("--")) {
                names = true;
                continue;
            }
            String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            CommandLine.Model.OptionSpec o = options.get(name);
            value = o != null && !arg.contains("=") && o.arity().max() > 0;
        }
        return "";
    }

    /**
     * For an unmatched argument right after an option's value ({@code --run my run}): a hint
     * that a value with spaces needs quotes; else "". picocli said only "Unmatched argument at
     * index 5: 'run'" (helper-98).
     */
    static String spacedValue(CommandLine.ParameterException ex, String[] args) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || u.getUnmatched().isEmpty()) {
            return "";
        }
        String first = u.getUnmatched().get(0);
        if (first.startsWith("-") && first.length() > 1) {
            // a mistyped option, not the rest of a value (helper-139: --run r --alow-empty was told to quote 'r --alow-empty')
            return "";
        }
        var options = ex.getCommandLine().getCommandSpec().optionsMap();
        for (int i = 2; i < args.length; i++) {
            CommandLine.Model.OptionSpec o = options.get(args[i - 2]);
            // a value that can hold spaces: not a number (helper-121: --step 1 -latest was told to quote '1 -latest')
            if (args[i].equals(first) && o != null && o.arity().max() > 0 && !args[i - 1].startsWith("-")
                    && o.type() == String.class) {
                return " (it follows " + args[i - 2] + " " + args[i - 1] + ": a value with spaces needs quotes, "
                        + args[i - 2] + " '" + args[i - 1] + " " + first + "')";
            }
        }
        return "";
    }

    /**
     * A switch's value ({@code --record=true}), or a usage error in words: picocli said "'x' is
     * not a boolean" of {@code --record=x}, a Java type's name.
     */
    static Boolean onOff(String v) {
        if (v.trim().equalsIgnoreCase("true") || v.trim().equalsIgnoreCase("false")) {
            return Boolean.valueOf(v.trim());
        }
        throw new CommandLine.TypeConversionException("'" + v.replace('\0', '?')
                + "': this option is a switch and takes no value (give it alone; =true and =false are also read)");
    }

    /**
     * The usage error for a switch given with {@code =} and nothing after it ({@code --json=}), or
     * null: picocli reads it as {@code =false} and calls no converter, so {@code ls S --json=}
     * printed text and exited 0 (helper-121). Only the arguments before {@code --} are options.
     */
    static String switchGivenEmpty(CommandLine.ParseResult p) {
        for (CommandLine.Model.OptionSpec o : p.matchedOptions()) {
            if (o.type() != boolean.class && o.type() != Boolean.class || o.usageHelp()) {
                continue; // --help= is helpGivenAValue's, in its words
            }
            for (String arg : p.originalArgs()) {
                if (arg.equals("--")) {
                    break;
                }
                for (String name : o.names()) {
                    if (arg.equals(name + "=")) {
                        return "'" + arg + "': this option is a switch and takes no value (give " + name
                                + " alone; =true and =false are also read)";
                    }
                }
            }
        }
        return null;
    }

    /**
     * The usage error for {@code --help} or {@code -h} given a value ({@code ls S --help=false},
     * {@code -h=1}), or null: picocli counted {@code =false} as asking for the help, so it printed the
     * help and ran nothing, and refused {@code =1} as "a switch (... =true and =false are also read)".
     * The tool's own {@code --help=x} before a command is refused the same way ({@code CkptTool}).
     * Only the arguments before {@code --} are options.
     */
    static String helpGivenAValue(CommandLine.Model.CommandSpec spec, List<String> args) {
        for (String arg : args) {
            if (arg.equals("--")) {
                break;
            }
            int eq = arg.indexOf('=');
            if (eq < 0 || !arg.startsWith("-")) {
                continue;
            }
            String name = arg.substring(0, eq);
            // short options written together, -vh=false: the value is the last one's (helper-147: push's help, exit 0)
            String carrier = name.matches("-[A-Za-z]{2,}") ? "-" + name.charAt(name.length() - 1) : name;
            CommandLine.Model.OptionSpec o = spec.findOption(carrier);
            if (o != null && o.usageHelp()) {
                return "'" + arg.replace('\0', '?') + "': " + carrier + " takes no value (give it alone for the help, or"
                        + " leave it out)";
            }
        }
        return null;
    }

    /** A whole-number option value, or a usage error in words ("'abc' is not a whole number", "... is too large"). */
    static <T> T whole(String v, java.util.function.Function<String, T> parse) {
        if (!dev.ckpt.store.util.Digits.whole(v)) {
            throw new CommandLine.TypeConversionException("'" + v.replace('\0', '?') + "' is not a whole number"
                    + dev.ckpt.store.util.Digits.otherDigitsHint(v));
        }
        try {
            return parse.apply(v.strip());
        } catch (NumberFormatException e) { // digits past the type's range; a huge negative one is not "too large" (helper-127)
            throw new CommandLine.TypeConversionException("'" + v.replace('\0', '?') + "' is "
                    + (v.strip().startsWith("-") ? "too small" : "too large"));
        }
    }
}
