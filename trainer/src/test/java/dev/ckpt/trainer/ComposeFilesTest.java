package dev.ckpt.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compose files parse and wire what the README promises; no Docker engine needed.
 * (.ci/run also runs {@code docker-compose config} on them where docker-compose installs.)
 */
class ComposeFilesTest {
    private static final Path COMPOSE = Path.of("..", "compose");
    private final ObjectMapper json = new ObjectMapper();

    /** Parses with SnakeYAML, which resolves anchors, aliases and merge keys as compose does. */
    private JsonNode load(String name) throws Exception {
        Object tree = new org.yaml.snakeyaml.Yaml().load(Files.readString(COMPOSE.resolve(name)));
        return json.valueToTree(tree);
    }

    private static void assertPinned(JsonNode service, String name) {
        String image = service.path("image").asText();
        assertFalse(image.isEmpty() || image.endsWith(":latest") || !image.contains(":"), name + " image is pinned: " + image);
    }

    @Test
    void singleNodeRunsMinioCreatesTheBucketAndPointsTheTrainerAtIt() throws Exception {
        JsonNode services = load("docker-compose.yml").get("services");
        assertPinned(services.get("minio"), "minio");
        assertTrue(services.get("minio").get("command").asText().startsWith("server /data"));
        assertTrue(services.get("create-bucket").get("command").get(0).asText().contains("mc mb --ignore-existing local/ckpt"));
        assertEquals("service_healthy", services.get("create-bucket").get("depends_on").get("minio").get("condition").asText());
        JsonNode trainer = services.get("trainer");
        assertEquals("http://minio:9000", trainer.get("environment").get("AWS_ENDPOINT_URL").asText());
        assertTrue(trainer.get("command").toString().contains("s3://ckpt/runs"));
        assertEquals("service_completed_successfully",
                trainer.get("depends_on").get("create-bucket").get("condition").asText());
    }

    @Test
    void clusterRunsFourErasureCodedNodesBehindOneEndpoint() throws Exception {
        JsonNode services = load("docker-compose.cluster.yml").get("services");
        List<String> nodes = new ArrayList<>();
        services.fieldNames().forEachRemaining(n -> {
            if (n.matches("minio\\d")) {
                nodes.add(n);
            }
        });
        assertEquals(List.of("minio1", "minio2", "minio3", "minio4"), nodes);
        for (String n : nodes) {
            JsonNode node = services.get(n);
            assertPinned(node, n);
            assertTrue(node.get("command").asText().contains("http://minio{1...4}/data{1...2}"), n + " joins all 4 nodes");
            assertEquals(2, node.get("volumes").size(), n + " has two drives");
        }
        String nginx = Files.readString(COMPOSE.resolve("nginx-minio.conf"));
        for (String n : nodes) {
            assertTrue(nginx.contains("server " + n + ":9000;"), "load balancer forwards to " + n);
        }
        assertTrue(services.get("s3").get("ports").toString().contains("9000:9000"));
        for (int r = 0; r < 4; r++) {
            assertEquals("http://s3:9000", services.get("trainer-" + r).get("environment").get("AWS_ENDPOINT_URL").asText());
        }
        assertTrue(services.get("create-bucket").get("command").get(0).asText().contains("mc mb --ignore-existing cluster/ckpt"));
    }

    @Test
    void clusterRunsFourRanksOfOneJobAfterOneBuild() throws Exception {
        JsonNode services = load("docker-compose.cluster.yml").get("services");
        List<String> trainers = new ArrayList<>();
        services.fieldNames().forEachRemaining(n -> {
            if (n.startsWith("trainer")) {
                trainers.add(n);
            }
        });
        assertEquals(List.of("trainer-0", "trainer-1", "trainer-2", "trainer-3"), trainers);
        JsonNode first = services.get("trainer-0").get("command");
        for (int r = 0; r < 4; r++) {
            JsonNode t = services.get("trainer-" + r);
            assertEquals("4", t.get("environment").get("WORLD_SIZE").asText(), "trainer-" + r);
            assertEquals(Integer.toString(r), t.get("environment").get("RANK").asText(), "trainer-" + r);
            assertEquals(first, t.get("command"), "every rank runs the same run and job: " + t.get("command"));
            assertEquals("service_completed_successfully", t.get("depends_on").get("build").get("condition").asText());
            assertEquals("service_completed_successfully", t.get("depends_on").get("create-bucket").get("condition").asText());
        }
        List<String> cmd = new ArrayList<>();
        first.forEach(a -> cmd.add(a.asText()));
        assertEquals("${CKPT_JOB_ID:-cluster-1}", cmd.get(cmd.indexOf("--job-id") + 1), "one job id for all ranks");
        assertTrue(cmd.contains("--run") && cmd.contains("--auto-resume"), cmd.toString());
        assertTrue(services.get("build").get("command").toString().contains("package"), "built once, before the ranks");
        String readme = Files.readString(Path.of("..", "README.md"));
        assertTrue(readme.contains("CKPT_JOB_ID=$(date +%s) docker-compose -f compose/docker-compose.cluster.yml up"),
                "the README gives the command");
    }
}
