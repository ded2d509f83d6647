package dev.ckpt.store.error;

/**
 * The server refused a request for lack of a permission (S3 403 AccessDenied): the credentials are
 * valid but may not do this action on this object. The message names the action, the object and
 * the permission to grant (docs/security.md lists what each command needs). Retrying will not
 * help; it says nothing about what the server supports, so a conditional-write probe that meets
 * it gives no verdict.
 */
public final class PermissionDeniedException extends BadConfigurationException {
    private final String permission;

    public PermissionDeniedException(String permission, String message, Throwable cause) {
        super(message, cause);
        this.permission = permission;
    }

    /** The IAM action refused, e.g. {@code s3:DeleteObject}. */
    public String permission() {
        return permission;
    }
}
