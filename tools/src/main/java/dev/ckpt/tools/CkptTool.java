package dev.ckpt.tools;

import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.util.Printable;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.OutOfMemory;
import dev.ckpt.store.chunk.ZstdLibrary;
import dev.ckpt.store.error.Redaction;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** ckpt-tool: the operator CLI of a ckpt store. */
@Command(name = "ckpt-tool", mixinStandardHelpOptions = true, version = "ckpt-tool 0.1.0",
        description = "Inspect, verify, collect and move checkpoints in a ckpt store.%n"
                + "STORE is s3://bucket/prefix, file:///path or a path. S3 settings come from the AWS environment"
                + " (AWS_ENDPOINT_URL, AWS_REGION, credentials chain, AWS_CA_BUNDLE for a private CA) and"
                + " --client/--endpoint/--region.",
        footer = {"", "Example:", "  ckpt-tool ls s3://ml-ckpt/llama --run run-42"})
public final class CkptTool implements Runnable {
    /**
     * The commands, in the order --help lists them. Added to the command line when it is
     * built (see {@link #addCommands}), not declared in the annotation: picocli builds the
     * model of every declared command by reflection, a quarter of a second of each run's
     * start, when a run needs one.
     */
    static final List<Class<?>> COMMANDS = List.of(InitCommand.class, PushCommand.class, LsCommand.class,
            ShowCommand.class, RestoreCommand.class, VerifyCommand.class, ForgetCommand.class, PinCommand.class,
            UnpinCommand.class, GcCommand.class, DiffCommand.class, StatsCommand.class, DoctorCommand.class,
            ExportCommand.class, ImportCommand.class, RecoverCommand.class, CommandLine.HelpCommand.class);

    private Map<String, String> env = System.getenv();

    @CommandLine.Spec
    CommandSpec spec;

    /**
     * Here for a cluster with the tool's help or version ({@code -vh}); before a command it
     * moves after it, to the command's own ({@link #commandFirst}).
     */
    @CommandLine.Option(names = {"-v", "--verbose"}, description = "on errors, print the stack trace too")
    boolean verbose;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    /**
     * Whether ckpt-tool is the program ({@link #main}), not a library inside another (tests): then a
     * {@code --deadline} counts from the JVM's start ({@link StoreCommand#started()}).
     */
    static volatile boolean isProgram;

    public static void main(String[] args) {
        isProgram = true;
        startQuickly();
        Interruption.install();
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = execute(args, out, err, System.getenv());
        System.exit(Interruption.finished(code));
    }

    /**
     * What a run of the program sets before anything else, so that it opens no jar it does not
     * use (docs/benchmarks.md, "Jars a CLI run does not open"): a class that no jar holds is
     * looked for in every jar of the class path, opening each (70). picocli looks for Groovy's
     * closure class when its default factory is first used, unless told not to
     * ({@code picocli.disable.closures}: ckpt has no Groovy); zstd-jni looks for an OSGi class
     * before it loads its library, unless the library is loaded already: from the file
     * {@code bin/ckpt-tool} names ({@link ZstdLibrary#loadNamed}; written first where it is
     * missing or changed).
     */
    static void startQuickly() {
        if (System.getProperty("picocli.disable.closures") == null) {
            System.setProperty("picocli.disable.closures", "true");
        }
        ZstdLibrary.loadNamed();
    }

    /** Runs ckpt-tool with the given streams and environment; returns the exit code. */
    public static int execute(String[] args, PrintWriter rawOut, PrintWriter rawErr, Map<String, String> env) {
        return execute(args, rawOut, rawErr, env, false);
    }

    /** {@code allCommands}: every command added whatever the first argument (tests compare the two). */
    static int execute(String[] args, PrintWriter rawOut, PrintWriter rawErr, Map<String, String> env,
                       boolean allCommands) {
        // Every line ckpt-tool prints (text, JSON, progress, errors, stack traces) passes the one redaction.
        // every line as a terminal shows it: a path's escape sequence is written escaped, not run (helper-130)
        PrintWriter out = Redaction.writer(rawOut, Printable.LINES);
        PrintWriter err = Redaction.writer(rawErr, Printable.LINES);
        CkptTool tool = new CkptTool();
        tool.env = env;
        CommandLine cl = new CommandLine(tool);
        // --json as given: commandFirst drops the shared options before help (--json help lss printed no document)
        boolean json = UsageWords.jsonAsked(args);
        Arguments given = commandFirst(args);
        args = given.args();
        addCommands(cl, allCommands || args.length == 0 ? null : args[0]);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // an argument starting with '@' is an argument, not a file of arguments to expand: never documented, and
        // expanded after commandFirst it bypassed its rules (a break helper's `ckpt-tool @args` with `--run help
        // push ...` inside exited 0, saving nothing); a store path may start with '@'
        cl.setExpandAtFiles(false);
        // no argument is ignored, not even when help is asked for: picocli skips its check for unmatched arguments
        // then, and `ckpt-tool x help push S SRC --step 4` printed push's help and exited 0 (a break helper's case)
        cl.setExecutionStrategy(parseResult -> {
            for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
                if (!p.unmatched().isEmpty()) {
                    throw new CommandLine.UnmatchedArgumentException(p.commandSpec().commandLine(), p.unmatched());
                }
                String empty = p.isUsageHelpRequested() ? UsageWords.helpGivenAValue(p.commandSpec(), p.originalArgs()) : null;
                if (empty == null) {
                    empty = UsageWords.switchGivenEmpty(p);
                }
                if (empty != null) {
                    throw new CommandLine.ParameterException(p.commandSpec().commandLine(), empty);
                }
            }
            return new CommandLine.RunLast().execute(parseResult);
        });
        cl.registerConverter(java.nio.file.Path.class, CkptTool::path);
        // numbers in words, not picocli's Java type names ("'abc' is not a long": a new-user tryout's case)
        cl.registerConverter(Long.class, v -> UsageWords.whole(v, Long::parseLong));
        cl.registerConverter(long.class, v -> UsageWords.whole(v, Long::parseLong));
        cl.registerConverter(Integer.class, v -> UsageWords.whole(v, Integer::parseInt));
        cl.registerConverter(int.class, v -> UsageWords.whole(v, Integer::parseInt));
        cl.registerConverter(Boolean.class, v -> UsageWords.onOff(v));
        cl.registerConverter(boolean.class, v -> UsageWords.onOff(v));
        appendExitCodes(cl);
        boolean verbose = Arrays.asList(args).contains("-v") || Arrays.asList(args).contains("--verbose");
        // A usage error is the reason and the command's synopsis, not the whole help page: the reason was
        // lost under 35 lines of options (found by a new-user tryout); --help has the rest.
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            PrintWriter e = c.getErr();
            // the arguments it quotes as the terminal would not act on them (an escape sequence: \\uXXXX), as errors say them
            String afterDash = UsageWords.afterDoubleDash(ex, a);
            String hints = afterDash.isEmpty()
                    ? UsageWords.dashedName(ex, a) + UsageWords.spacedValue(ex, a) + UsageWords.unknownDashedCheckpoint(ex)
                    : afterDash;
            // whatever else picocli made of it (-vh= was "Expected parameter for option '--help' but found ...")
            String help = UsageWords.helpGivenAValue(c.getCommandSpec(), Arrays.asList(a));
            // --help's value said alone: no hint of names read as options (-vh= was told to go after --)
            String said = ShowCommand.printable(help != null ? help : UsageWords.message(ex) + hints);
            e.println(c.getCommandSpec().qualifiedName() + ": " + said);
            if (afterDash.isEmpty()) {
                // not with the hint for an option after --: picocli suggests the very option given there
                UsageWords.printSuggestions(ex, e);
            }
            e.print("usage: " + c.getHelp().synopsis(0).stripLeading().replaceFirst("^Usage: ", ""));
            e.println("'" + c.getCommandSpec().qualifiedName() + " --help' lists the options and exit codes");
            e.flush();
            if (json || UsageWords.jsonAsked(a)) {
                // the one document a script reads under --json, as for any failure (it read nothing, and a parser failed)
                OutputOptions.writeFailure(c.getOut(), new OutputOptions.Failure(c.getCommandSpec().qualifiedName()
                        .replaceFirst("^ckpt-tool ", ""), ExitCode.USAGE, said));
            }
            return ExitCode.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            String name = commandLine.getCommandName();
            if (Interruption.said()) {
                return code(ex); // a signal stopped it and said so (a commit it barred): nothing more to say
            }
            // what a terminal would act on (an escape sequence in a file or run name) is written as \\uXXXX, a line
            // break too: a name holding one split the message (helper-131's survey); only a listing's items (every
            // refused entry of a directory or an archive) go on lines of their own
            CkptException listed = ckptIn(ex);
            String said = listed != null ? Printable.message(listed) : Printable.message(message(ex));
            commandLine.getErr().println("ckpt-tool " + name + ": " + said);
            if (verbose) {
                Redaction.printStackTrace(ex, commandLine.getErr()); // causes carry server and client text
            }
            commandLine.getErr().flush();
            int code = code(ex);
            if (commandLine.getCommand() instanceof StoreCommand c) {
                c.output.printFailure(commandLine.getOut(), new OutputOptions.Failure(name, code, said));
            }
            return code;
        });
        if (given.error() != null) {
            // said here: picocli would ignore an unknown option when its help command follows (`--run help push
            // S SRC` printed push's help and exited 0, saving nothing: a break helper's case)
            try {
                return cl.getParameterExceptionHandler().handleParseException(
                        new CommandLine.ParameterException(cl, given.error()), args);
            } catch (Exception e) { // the handler above throws nothing
                throw new IllegalStateException(e);
            }
        }
        int code;
        try {
            code = cl.execute(args);
        } catch (Error e) { // an Error passes picocli's handler: without this, a Java stack trace
            // what ran out decides the advice: heap, threads (a process limit), class space, direct buffers (helper-86)
            err.println("ckpt-tool: " + (e instanceof OutOfMemoryError o ? OutOfMemory.explain(o, args.length > 0
                    && args[0].equals("push")) : OutOfMemory.explain(e) + "; run it again with --verbose for the"
                    + " details, and report it"));
            if (verbose) {
                Redaction.printStackTrace(e, err);
            }
            code = ExitCode.ERROR;
        }
        out.flush();
        err.flush();
        return code;
    }

    /**
     * Adds the command named by {@code first} (the first argument) alone when it names one;
     * otherwise every command (no command, an option first, `help`, a mistyped name, which
     * picocli answers with the commands like it). The one command parses and helps exactly
     * as it does among all of them.
     */
    static void addCommands(CommandLine cl, String first) {
        java.util.Optional<Class<?>> named = commandNamed(first);
        if (named.isPresent()) {
            cl.addSubcommand(named.get());
        } else {
            COMMANDS.forEach(cl::addSubcommand);
        }
    }

    /**
     * The arguments as picocli is to parse them, or the usage error they are
     * ({@link #commandFirst}); {@code error} is null when there is none.
     */
    record Arguments(String[] args, String error) {
    }

    /**
     * The arguments with the command name first: the options every command shares
     * ({@link OutputOptions}, {@link StoreOptions}: {@code --json}, {@code --progress},
     * {@code --verbose}, {@code --endpoint}, ...) given before it ({@code ckpt-tool --json
     * --verbose ls S}, as many CLIs allow for their common options) move after it, where they
     * mean exactly what they mean there. Before the command name only those options, each with
     * its value, may stand; the first other option there is the error ("Unknown option"), and
     * arguments that end before a command name are "a command is required". So a value is
     * never taken for the command, and no option is ignored: a first version moved the first
     * argument that named a command, and {@code ckpt-tool --run help push S SRC} printed push's
     * help and exited 0 without saving (found by a break helper). The tool's own help and
     * version ({@code -h}, {@code --help}, {@code -V}, {@code --version}, or a cluster of
     * {@code -v}, {@code -h}, {@code -V}) answer for the tool, as they did before, and the
     * {@code help} command for the command it names: the shared options before either are
     * dropped, as they mean nothing to them ({@code ckpt-tool -v help ls}, {@code ckpt-tool
     * --json --help}).
     */
    static Arguments commandFirst(String[] args) {
        String help = CommandLine.HelpCommand.class.getAnnotation(Command.class).name();
        if (args.length > 0 && args[0].equals(help)) {
            // ckpt-tool help ls --json: the shared options mean nothing to help after it either (helper-143: exit 2,
            // where --json help ls printed ls's help)
            return new Arguments(withoutShared(args, 0, sharedOptions()), null);
        }
        if (args.length > 1 && !args[0].startsWith("-") && !isCommand(args[0]) && isCommand(args[1])) {
            // ckpt-tool ./store ls: "ckpt-tool ls: Missing required parameter: 'STORE'" of a store that was given
            return new Arguments(args, "Unknown command: '" + args[0] + "' (the command comes first: ckpt-tool "
                    + args[1] + " " + args[0] + " ...)");
        }
        if (args.length == 0 || !args[0].startsWith("-")) {
            return new Arguments(args, null);
        }
        Map<String, Boolean> shared = sharedOptions();
        int i = 0;
        while (i < args.length && args[i].startsWith("-")) {
            String a = args[i];
            if (a.matches("--help|--version|-[vhV]*[hV][vhV]*")) {
                // the tool's own help or version: the shared options before it mean nothing to it, nor those after
                // it (--help --json was "Unknown option: '--json'", exit 2, where --json --help printed the help)
                return new Arguments(withoutShared(args, i, shared), null);
            }
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            Boolean takesValue = shared.get(name);
            if (takesValue == null && name.matches("--help|--version|-[vhV]*[hV][vhV]*")) {
                // --version=x: "did you mean --verbose?" (helper-121), where --version exists and takes no value
                // in the words a command's --help=x gets (UsageWords.helpGivenAValue)
                return new Arguments(args, "'" + a.replace('\0', '?') + "': " + name + " takes no value (give it alone"
                        + (name.matches("--help|-[vV]*h[vV]*") ? " for the help" : name.matches("--version|-[vhV]*V[vhV]*")
                        ? " for the version" : "") + ", or leave it out)");
            }
            if (takesValue == null && name.equals("--")) {
                // ckpt-tool -- ls S: '--' ends the options, and nothing is left to name a command (helper-121)
                return new Arguments(args, "Unknown option: '--' (the command comes first, as in ckpt-tool ls STORE;"
                        + " a '--' after it ends that command's options)");
            }
            if (takesValue == null) {
                // the names near it, as for a mistyped option after the command, among the shared options only
                List<String> near = name.length() < 4 ? List.of() // '-x' is near every short option
                        : dev.ckpt.store.util.NearNames.near(name, java.util.stream.Stream.concat(java.util.stream.Stream.of("--help",
                                "--version"), UsageWords.longOptions(new CommandLine(new SharedOptions()).getCommandSpec())
                                .stream()).toList()); // the tool's own, which may come first too (--hlep ls: helper-139)
                return new Arguments(args, "Unknown option: '" + name + "'"
                        + (name.equals("--") || name.equals("-") ? "" : !near.isEmpty() ? " (did you mean " + near.get(0)
                        + "?)" : " (only the options every command has may come before the command name)"));
            }
            i += takesValue && !a.contains("=") ? 2 : 1;
        }
        if (i >= args.length) {
            return new Arguments(args, "a command is required");
        }
        if (args[i].equals(help)) {
            // `ckpt-tool -v help ls`: help has none of the shared options, and they mean nothing to it
            return new Arguments(withoutShared(args, i, shared), null);
        }
        String[] moved = new String[args.length];
        moved[0] = args[i];
        System.arraycopy(args, 0, moved, 1, i);
        System.arraycopy(args, i + 1, moved, i + 1, args.length - i - 1);
        return new Arguments(moved, null);
    }

    /**
     * {@code args} from {@code from} on without the shared options (and their values) after
     * {@code from}: what the tool's own help or version is given with. An option that is not
     * shared stays, to be refused.
     */
    private static String[] withoutShared(String[] args, int from, Map<String, Boolean> shared) {
        List<String> kept = new java.util.ArrayList<>(List.of(args[from]));
        for (int j = from + 1; j < args.length; j++) {
            String a = args[j];
            if (a.equals("--")) {
                kept.addAll(Arrays.asList(args).subList(j, args.length));
                break;
            }
            Boolean takesValue = shared.get(a.contains("=") ? a.substring(0, a.indexOf('=')) : a);
            if (takesValue == null) {
                kept.add(a);
            } else if (takesValue && !a.contains("=")) {
                j++; // its value
            }
        }
        return kept.toArray(String[]::new);
    }

    /** Whether {@code word} names a command (or an alias of one), help aside. */
    private static boolean isCommand(String word) {
        return commandNamed(word).isPresent();
    }

    /** The command {@code word} names (by name or alias), help aside; empty when it names none. */
    private static java.util.Optional<Class<?>> commandNamed(String word) {
        for (Class<?> c : COMMANDS) {
            Command a = c.getAnnotation(Command.class);
            if (c != CommandLine.HelpCommand.class && (a.name().equals(word) || Arrays.asList(a.aliases()).contains(word))) {
                return java.util.Optional.of(c);
            }
        }
        return java.util.Optional.empty();
    }

    /** The options every command has, and only those: what may stand before the command name. */
    @Command(name = "ckpt-tool")
    static final class SharedOptions {
        @picocli.CommandLine.Mixin
        OutputOptions output;

        @picocli.CommandLine.Mixin
        StoreOptions storeOptions;
    }

    /** The options every command shares, by name: whether each takes a value. */
    private static Map<String, Boolean> sharedOptions() {
        Map<String, Boolean> names = new java.util.HashMap<>();
        new CommandLine(new SharedOptions()).getCommandSpec().optionsMap()
                .forEach((n, o) -> names.put(n, o.arity().max() > 0));
        return names;
    }

    /** Every --help ends with the exit codes, from the table shared with ckpt-train. */
    private static void appendExitCodes(CommandLine cl) {
        var usage = cl.getCommandSpec().usageMessage();
        String[] footer = Arrays.copyOf(usage.footer(), usage.footer().length + 2);
        footer[footer.length - 2] = "";
        footer[footer.length - 1] = ExitCode.HELP;
        usage.footer(footer);
        cl.getSubcommands().values().stream().distinct().forEach(CkptTool::appendExitCodes); // aliases share one
    }

    /**
     * A path argument; an impossible one is a usage error in words, not picocli's Java class names.
     * A file: URL is the path it names, as for a store ({@link dev.ckpt.store.objectstore.ObjectStores#path}):
     * helper-101's {@code restore S latest file:///tmp/x} wrote into {@code ./file:/tmp/x}.
     */
    static java.nio.file.Path path(String s) {
        try {
            return dev.ckpt.store.objectstore.ObjectStores.path(s);
        } catch (dev.ckpt.store.error.BadConfigurationException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        } catch (java.nio.file.InvalidPathException e) {
            throw new CommandLine.TypeConversionException("'" + s.replace('\0', '?') + "' is not a valid path: "
                    + e.getReason() + (e.getReason().contains("unmappable") ? " (set a UTF-8 locale, e.g. LANG=C.UTF-8)" : ""));
        }
    }

    static Map<String, String> env(CommandSpec spec) {
        CommandLine root = spec.commandLine();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        return ((CkptTool) root.getCommand()).env;
    }

    /**
     * One line for the user: the store's own message, or for anything else the reason in
     * words. Java class names appear only with --verbose (in the stack trace).
     */
    /** The store's error in {@code ex}'s chain of causes (the one {@link #message} says), or null. */
    static CkptException ckptIn(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof CkptException c) {
                return c;
            }
        }
        return null;
    }

    static String message(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof CkptException) {
                return t.getMessage();
            }
        }
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException io) {
                String file = io instanceof java.nio.file.FileSystemException f && f.getFile() != null ? f.getFile() + ": " : "";
                return "I/O error: " + file + LocalFiles.explain(io);
            }
        }
        String m = ex.getMessage();
        if (ex instanceof IllegalArgumentException && m != null && !m.isBlank() && !m.contains("Exception")) {
            return m; // a value refused by a library constructor (a negative step, keep-last 0): it says what
        }
        if (m == null || m.isBlank()) {
            m = "unexpected internal error";
        }
        return m.replaceAll("\\b(?:[a-z]+\\.)+[A-Z][A-Za-z]*(?:Exception|Error): ", "")
                + " (run with --verbose for details)";
    }

    /** The code for an error, from the table shared with ckpt-train. */
    static int code(Throwable ex) {
        return dev.ckpt.store.error.ExitCode.of(ex).code();
    }
}
