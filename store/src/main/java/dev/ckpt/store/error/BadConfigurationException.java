package dev.ckpt.store.error;

/**
 * A store URL, option or setting is invalid. Fix the configuration; retrying will not help.
 * {@link PermissionDeniedException}, a permission the credentials lack, is the one kind of it.
 */
public class BadConfigurationException extends CkptException {
    public BadConfigurationException(String message) {
        super(message);
    }

    public BadConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
