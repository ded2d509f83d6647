package dev.ckpt.tools;

import dev.ckpt.store.util.LocalFiles;
import dev.ckpt.store.error.CkptException;
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
     * Here for {@code ckpt-tool --verbose} with no command (a usage error naming the missing
     * command, not the option); before a command it moves after it ({@link #commandFirst}).
     */
    @CommandLine.Option(names = {"-v", "--verbose"}, description = "on errors, print the stack trace too")
    boolean verbose;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(execute(args, out, err, System.getenv()));
    }

    /** Runs ckpt-tool with the given streams and environment; returns the exit code. */
    public static int execute(String[] args, PrintWriter rawOut, PrintWriter rawErr, Map<String, String> env) {
        return execute(args, rawOut, rawErr, env, false);
    }

    /** {@code allCommands}: every command added whatever the first argument (tests compare the two). */
    static int execute(String[] args, PrintWriter rawOut, PrintWriter rawErr, Map<String, String> env,
                       boolean allCommands) {
        // Every line ckpt-tool prints (text, JSON, progress, errors, stack traces) passes the one redaction.
        PrintWriter out = Redaction.writer(rawOut);
        PrintWriter err = Redaction.writer(rawErr);
        CkptTool tool = new CkptTool();
        tool.env = env;
        CommandLine cl = new CommandLine(tool);
        args = commandFirst(args);
        addCommands(cl, allCommands || args.length == 0 ? null : args[0]);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.registerConverter(java.nio.file.Path.class, CkptTool::path);
        appendExitCodes(cl);
        boolean verbose = Arrays.asList(args).contains("-v") || Arrays.asList(args).contains("--verbose");
        // A usage error is the reason and the command's synopsis, not the whole help page: the reason was
        // lost under 35 lines of options (found by a new-user tryout); --help has the rest.
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            PrintWriter e = c.getErr();
            e.println(c.getCommandSpec().qualifiedName() + ": " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, e);
            e.print("usage: " + c.getHelp().synopsis(0).stripLeading().replaceFirst("^Usage: ", ""));
            e.println("'" + c.getCommandSpec().qualifiedName() + " --help' lists the options and exit codes");
            e.flush();
            return ExitCode.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            String name = commandLine.getCommandName();
            commandLine.getErr().println("ckpt-tool " + name + ": " + Redaction.redact(message(ex)));
            if (verbose) {
                Redaction.printStackTrace(ex, commandLine.getErr()); // causes carry server and client text
            }
            commandLine.getErr().flush();
            return code(ex);
        });
        String unknown = unknownFirstOption(cl, args);
        if (unknown != null) {
            // picocli would ignore it when the help command follows: `--run help push ...` printed push's
            // help and exited 0, saving nothing (a break helper's case)
            try {
                return cl.getParameterExceptionHandler().handleParseException(
                        new CommandLine.ParameterException(cl, "Unknown option: '" + unknown + "'"), args);
            } catch (Exception e) { // the handler above throws nothing
                throw new IllegalStateException(e);
            }
        }
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError e) { // an Error passes picocli's handler: without this, a Java stack trace
            err.println("ckpt-tool: out of memory (" + e.getMessage() + "): the JVM's heap is too small for this"
                    + " command; give it more, e.g. CKPT_JAVA_OPTS=-Xmx1g (a save keeps up to a quarter of the heap in"
                    + " chunks in flight; 256 MiB is enough for any checkpoint size)");
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
        for (Class<?> c : COMMANDS) {
            Command a = c.getAnnotation(Command.class);
            if (c != CommandLine.HelpCommand.class && (a.name().equals(first) || Arrays.asList(a.aliases()).contains(first))) {
                cl.addSubcommand(c);
                return;
            }
        }
        COMMANDS.forEach(cl::addSubcommand);
    }

    /**
     * The arguments with the command name first: the options every command shares
     * ({@link OutputOptions}, {@link StoreOptions}: {@code --json}, {@code --progress},
     * {@code --verbose}, {@code --endpoint}, ...) given before it ({@code ckpt-tool --json
     * --verbose ls S}, as many CLIs allow for their common options) move after it, where they
     * mean exactly what they mean there. Only those options, each with its value, may stand
     * before the command; anything else there (another command's option, {@code --}) leaves
     * the arguments as they are, for the usual usage error. The first argument after them is
     * taken for the command (a mistyped one gets picocli's "Did you mean"). So a value is never
     * taken for the command: in {@code ckpt-tool --run help push S SRC} nothing moves and
     * {@code --run} is named as an unknown option, where taking {@code help} for the command
     * printed push's help and exited 0 without saving (found by a break helper).
     */
    static String[] commandFirst(String[] args) {
        if (args.length == 0 || !args[0].startsWith("-")) {
            return args;
        }
        Map<String, Boolean> shared = sharedOptions();
        int i = 0;
        while (i < args.length && args[i].startsWith("-")) {
            int eq = args[i].indexOf('=');
            Boolean takesValue = shared.get(eq > 0 ? args[i].substring(0, eq) : args[i]);
            if (takesValue == null) {
                return args; // not an option every command has: picocli names it
            }
            i += takesValue && eq < 0 ? 2 : 1;
        }
        if (i >= args.length) {
            return args;
        }
        String[] moved = new String[args.length];
        moved[0] = args[i];
        System.arraycopy(args, 0, moved, 1, i);
        System.arraycopy(args, i + 1, moved, i + 1, args.length - i - 1);
        return moved;
    }

    /**
     * The first argument when it is an option ckpt-tool itself does not have (after
     * {@link #commandFirst}, an option before the command name that not every command has);
     * else null. A cluster of short options ({@code -vh}) is one when each letter is one.
     */
    static String unknownFirstOption(CommandLine cl, String[] args) {
        if (args.length == 0 || !args[0].startsWith("-") || args[0].equals("--") || args[0].equals("-")) {
            return null;
        }
        String first = args[0];
        String name = first.contains("=") ? first.substring(0, first.indexOf('=')) : first;
        if (cl.getCommandSpec().findOption(name) != null) {
            return null;
        }
        if (!first.startsWith("--")) {
            for (char c : first.substring(1).toCharArray()) {
                if (cl.getCommandSpec().findOption("-" + c) == null) {
                    return first;
                }
            }
            return null;
        }
        return first;
    }

    /** The names of the options every command has, each with whether it takes a value (all but the booleans). */
    private static Map<String, Boolean> sharedOptions() {
        Map<String, Boolean> names = new java.util.HashMap<>();
        for (Class<?> c : List.of(OutputOptions.class, StoreOptions.class)) {
            for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                CommandLine.Option o = f.getAnnotation(CommandLine.Option.class);
                if (o != null) {
                    for (String n : o.names()) {
                        names.put(n, f.getType() != boolean.class);
                    }
                }
            }
        }
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

    /** A path argument; an impossible one is a usage error in words, not picocli's Java class names. */
    static java.nio.file.Path path(String s) {
        try {
            return java.nio.file.Path.of(s);
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
