package dev.ckpt.tools;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run builds the model of the command it runs only (CkptTool.addCommands); what any
 * command prints for --help and for a usage error must be what it prints among all.
 */
class OneCommandModelTest {
    private record Run(int code, String out, String err) {
    }

    private static Run run(boolean all, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = CkptTool.execute(args, new PrintWriter(out), new PrintWriter(err), Map.of(), all);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void everyCommandHelpsAndRefusesAsItDoesAmongAll() {
        List<String> names = new ArrayList<>();
        for (Class<?> c : CkptTool.COMMANDS) {
            if (c != CommandLine.HelpCommand.class) {
                names.add(c.getAnnotation(CommandLine.Command.class).name());
            }
        }
        assertTrue(names.size() >= 16, names.toString());
        for (String name : names) {
            for (String[] args : List.of(new String[]{name, "--help"}, new String[]{name, "--no-such-option"},
                    new String[]{name})) {
                Run one = run(false, args);
                Run all = run(true, args);
                assertEquals(all, one, String.join(" ", args));
                assertTrue(!one.out().isEmpty() || !one.err().isEmpty(), String.join(" ", args) + " printed nothing");
            }
        }
    }

    @Test
    void withoutACommandNameEveryCommandIsThere() {
        Run help = run(false, "--help");
        for (Class<?> c : CkptTool.COMMANDS) {
            String name = c.getAnnotation(CommandLine.Command.class).name();
            assertTrue(help.out().contains("  " + name + " "), name + " missing from --help:\n" + help.out());
        }
        Run mistyped = run(false, "pusj");
        assertEquals(run(true, "pusj"), mistyped);
        assertTrue(mistyped.err().contains("push"), "a mistyped command is answered with the near one: " + mistyped.err());
        assertEquals(run(true, "help", "restore"), run(false, "help", "restore"));
    }
}
