// Package reload keeps a running process on the latest good revision of its
// configuration.
//
// A Source says where the configuration comes from and when it may have
// changed: File reads a file, reloading on SIGHUP and when polling finds
// new content (a Kubernetes ConfigMap is updated by swapping a symlink,
// which file watches miss, so the content is compared, not the inode). A
// Source whose store can be watched (a Consul KV key with blocking queries)
// delivers each new content the same way.
//
// A Loop applies what the Source delivers: content whose hash did not
// change is not applied again, content that fails to apply changes nothing
// (the last good revision stays in force, and the failure is logged once
// per content), and settings that changed but need a restart are named.
// Content refused with an error marked Retryable (applying it needed
// something outside it that is not there yet: a key file, an environment
// variable) is applied again on its own, with a backoff, until it applies
// or newer content arrives; other refusals wait for new content.
// It reports the applied revision (a short SHA-256 of the content) and the
// outcome of each reload as Prometheus metrics and as a Status, which
// StatusHandler serves as JSON on an admin listener.
package reload
