package dev.ckpt.store.objectstore.s3;

import dev.ckpt.store.error.BadConfigurationException;
import dev.ckpt.store.error.CkptException;
import dev.ckpt.store.error.StoreUnavailableException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AWS credential chain's failure in ckpt's words. The messages are the SDK's own (2.57,
 * recorded from the chain with each setting below); {@code S3SetupErrorsCliTest} runs the
 * real chain, so a change of the SDK's wording shows there.
 */
class MissingCredentialsTest {
    private static final String SYS = "SystemPropertyCredentialsProvider(): Unable to load credentials from system"
            + " settings. Access key must be specified either via environment variable (AWS_ACCESS_KEY_ID) or system"
            + " property (aws.accessKeyId).";
    private static final String ENV = SYS.replace("SystemProperty", "EnvironmentVariable");
    private static final String WEB = "WebIdentityTokenFileCredentialsProvider(): Either the environment variable"
            + " AWS_WEB_IDENTITY_TOKEN_FILE or the javaproperty aws.webIdentityTokenFile must be set.";
    private static final String FILE = "ProfileFile(sections=[profiles], profiles=[Profile(name=role, properties=[role_arn,"
            + " source_profile]), Profile(name=proc, properties=[credential_process])])";
    private static final String CONTAINER = "ContainerCredentialsProvider(): Cannot fetch credentials from container -"
            + " neither AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI environment"
            + " variables are set.";
    private static final String IMDS = "InstanceProfileCredentialsProvider(): Failed to load credentials from IMDS.";

    private static String chain(String env, String web, String profile) {
        return MissingCredentials.CHAIN_FAILED + " AwsCredentialsProviderChain(credentialsProviders=["
                + "SystemPropertyCredentialsProvider(), ProfileCredentialsProvider(profileName=x, profileFile=" + FILE
                + ")]) : [" + SYS + ", " + env + ", " + web + ", " + profile + ", " + CONTAINER + ", " + IMDS + "]";
    }

    private static final String NOTHING = chain(ENV, WEB, "ProfileCredentialsProvider(profileName=default): Profile file"
            + " contained no credentials for profile 'default': " + FILE);

    private static CkptException error(String message, Map<String, String> env, boolean onEc2) {
        return MissingCredentials.error("s3://b/p/ROOT", "read", message, env, onEc2, null);
    }

    private static void assertNoClassNames(CkptException e) {
        assertFalse(e.getMessage().contains("CredentialsProvider") || e.getMessage().contains("ProfileFile("),
                e.getMessage());
    }

    @Test
    void nothingSetOffEc2IsAConfigurationErrorSayingWhatToSet() {
        CkptException e = error(NOTHING, Map.of(), false);
        assertInstanceOf(BadConfigurationException.class, e);
        assertTrue(e.getMessage().startsWith("no S3 credentials to read s3://b/p/ROOT: none are set. Set"
                + " AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"), e.getMessage());
        // the files as the SDK finds them: under $HOME (here the JVM's user.home, as the map sets no HOME)
        String home = System.getProperty("user.home");
        assertTrue(e.getMessage().contains(home + "/.aws/credentials or " + home + "/.aws/config"), e.getMessage());
        CkptException withHome = error(NOTHING, Map.of("HOME", "/home/someone"), false);
        assertTrue(withHome.getMessage().contains("/home/someone/.aws/credentials or /home/someone/.aws/config"),
                withHome.getMessage());
        assertNoClassNames(e);
    }

    @Test
    void onEc2TheMetadataServiceMayAnswerLaterUnlessItIsDisabled() {
        CkptException e = error(NOTHING, Map.of(), true);
        assertInstanceOf(StoreUnavailableException.class, e);
        assertTrue(e.getMessage().contains("this EC2 instance's metadata service gave no role credentials")
                && e.getMessage().endsWith("retrying later is safe"), e.getMessage());
        assertInstanceOf(BadConfigurationException.class, error(NOTHING, Map.of("AWS_EC2_METADATA_DISABLED", "true"), true));
    }

    @Test
    void whatIsSetButCannotWorkIsNamedAndNotAskedForAgain() {
        String role = chain(ENV, WEB, "ProfileCredentialsProvider(profileName=role): To use assumed roles in the 'role'"
                + " profile, the 'sts' service module must be on the class path.");
        CkptException e = error(role, Map.of("AWS_PROFILE", "role"), false);
        assertInstanceOf(BadConfigurationException.class, e);
        assertTrue(e.getMessage().contains("profile 'role' (AWS_PROFILE) assumes a role (role_arn)")
                && e.getMessage().contains("aws configure export-credentials --profile role --format env"), e.getMessage());
        assertFalse(e.getMessage().contains("Set AWS_ACCESS_KEY_ID"), "not told to set what is set: " + e.getMessage());

        String proc = chain(ENV, WEB, "ProfileCredentialsProvider(profileName=proc, profileFile=" + FILE + "): Failed to"
                + " refresh process-based credentials.");
        CkptException p = error(proc, Map.of("AWS_PROFILE", "proc"), false);
        assertInstanceOf(BadConfigurationException.class, p);
        assertTrue(p.getMessage().contains("profile 'proc' (AWS_PROFILE) gets its keys from its credential_process"
                + " command (in " + System.getProperty("user.home") + "/.aws/credentials or " + System.getProperty("user.home")
                + "/.aws/config), which failed")
                && p.getMessage().contains("run the command yourself to see why"), p.getMessage());

        String keyOnly = chain(ENV.replace("Access key must be specified either via environment variable (AWS_ACCESS_KEY_ID)"
                + " or system property (aws.accessKeyId)", "Secret key must be specified either via environment variable"
                + " (AWS_SECRET_ACCESS_KEY) or system property (aws.secretAccessKey)"), WEB, NOTHING.substring(0, 0)
                + "ProfileCredentialsProvider(profileName=default): Profile file contained no credentials for profile"
                + " 'default': " + FILE);
        assertTrue(error(keyOnly, Map.of("AWS_ACCESS_KEY_ID", "AKIA"), false).getMessage()
                .endsWith(": AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
        assertTrue(error(NOTHING, Map.of("AWS_SECRET_ACCESS_KEY", "s"), false).getMessage()
                .endsWith(": AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"));

        String web = chain(ENV, "WebIdentityTokenFileCredentialsProvider(): To use web identity tokens, the 'sts' service"
                + " module must be on the class path.", "ProfileCredentialsProvider(profileName=default): Profile file"
                + " contained no credentials for profile 'default': " + FILE);
        CkptException w = error(web, Map.of("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), false);
        assertTrue(w.getMessage().contains("AWS_WEB_IDENTITY_TOKEN_FILE is set") && w.getMessage().contains("STS"),
                w.getMessage());
        for (CkptException x : new CkptException[]{e, p, w}) {
            assertNoClassNames(x);
        }
    }

    @Test
    void aMessageOfAnotherShapeIsLeftToTheCaller() {
        assertNull(error(MissingCredentials.CHAIN_FAILED + " somehow", Map.of(), false));
        assertTrue(MissingCredentials.chainMessage(new RuntimeException("x", new RuntimeException(NOTHING))).isPresent());
        assertTrue(MissingCredentials.chainMessage(new RuntimeException("Connection refused")).isEmpty());
    }

    /** helper-72's cases: retrying cannot fix a mistake, whatever else failed; and what is set but wrong is named. */
    @Test
    void aMistakeIsExitOneEvenOnEc2AndWrongSettingsAreNamed() {
        String keyOnly = NOTHING.replace(ENV, ENV.replace("Access key must be specified either via environment"
                + " variable (AWS_ACCESS_KEY_ID) or system property (aws.accessKeyId)", "Secret key must be specified"));
        CkptException e = error(keyOnly, Map.of("AWS_ACCESS_KEY_ID", "AKX"), true);
        assertInstanceOf(BadConfigurationException.class, e, "on EC2 too: " + e.getMessage());
        assertTrue(e.getMessage().contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"), e.getMessage());

        String container = NOTHING.replace(CONTAINER, "ContainerCredentialsProvider(): Failed to load credentials from"
                + " metadata service.");
        for (String uri : new String[] {"", "notauri", "http://10.1.2.3/x"}) {
            CkptException c = error(container, Map.of("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri), false);
            assertInstanceOf(BadConfigurationException.class, c, uri + ": " + c.getMessage());
            assertTrue(c.getMessage().contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"), c.getMessage());
        }
        assertInstanceOf(StoreUnavailableException.class, error(container,
                Map.of("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"), false), "an endpoint that may come up");

        CkptException d = error(NOTHING, Map.of("AWS_EC2_METADATA_DISABLED", "1"), true);
        assertInstanceOf(BadConfigurationException.class, d);
        assertTrue(d.getMessage().contains("AWS_EC2_METADATA_DISABLED='1' is not true or false"), d.getMessage());
        assertTrue(error(NOTHING, Map.of("AWS_PROFILE", ""), false).getMessage()
                .contains("AWS_PROFILE is set but empty"));
        assertTrue(error(NOTHING, Map.of("AWS_SESSION_TOKEN", "t"), false).getMessage()
                .contains("AWS_SESSION_TOKEN is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not"));
        CkptException w = error(NOTHING, Map.of("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), false);
        assertTrue(w.getMessage().contains("AWS_WEB_IDENTITY_TOKEN_FILE is set"), w.getMessage());
    }
}
