// Package javapeertest runs the official Apache RocketMQ Java client
// (org.apache.rocketmq:rocketmq-client of the test broker's own release, see
// ClientVersion) from Go tests, through the small javapeer program
// in tools/javapeer: as the witness that reports exactly what a Java consumer
// sees of what rocketsend sent, and as the Java benchmark peer.
//
//	func TestMain(m *testing.M) { rmqtest.Main(m) }
//
//	func TestWhatJavaSees(t *testing.T) {
//		c := rmqtest.Start(t)
//		c.CreateTopic(t, "T", 4)
//		cons := javapeertest.Consume(t, c.NameServer(), "T") // returns once the consumer is ready
//		// ... send 3 messages with rocketsend ...
//		msgs := cons.Collect(3, 30*time.Second)
//	}
//
// Every helper starts one JVM (-Xmx128m, SerialGC, C1 only) running
// tools/javapeer/target/javapeer-<client>-<hash>.jar, which Jar builds with Maven on first
// use. Data comes back as JSON lines on the JVM's stdout; its stderr (the
// client's WARN+ logging) is kept and printed when the test fails. Every JVM
// is killed by the test's cleanup at the latest, exits by itself when the
// test process disappears (it watches its stdin), and every wait is bounded.
// Nothing is written to $HOME: each JVM gets a temporary user.home, and the
// client's file logging is replaced by stderr (src/main/resources/rmq.logback.xml).
//
// Java, Maven and (the first time) Maven Central must be available; without
// them the helpers skip the test, or fail it when CI=true, like rmqtest.
//
// Environment: JAVAPEER_MAVEN_REPO (Maven local repository, default
// ~/.cache/rocketsend/m2-javapeer), JAVAPEER_CLIENT_VERSION (the client
// release; default: $RMQ_VERSION), JAVAPEER_JAR (use this jar, never
// build), JAVAPEER_JAVA_OPTS (extra JVM options, e.g.
// -Djavapeer.log.level=info for the client's INFO logs on stderr).
package javapeertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/tools/internal/flock"
)

const buildTimeout = 20 * time.Minute // a cold build downloads ~40 MB from Maven Central

var (
	jarMu   sync.Mutex
	jarDone bool
	jarPath string
	jarErr  error
)

// Jar returns the path of the javapeer jar for the client release
// ClientVersion, building it once per process with `mvn -q -B package
// -DskipTests -Drocketmq.version=<client>` when its sources (pom.xml and
// src/) or the release changed since the last build: the jar handed out is
// a copy named after both, target/javapeer-<client>-<hash>.jar, so one jar
// per release is kept side by side and a rebuild never rewrites a jar a running
// JVM (of another test binary) is reading. Concurrent test binaries
// serialise builds on a lock file. Without java (or mvn, when a build is
// needed) the test is skipped with the reason, or failed when CI=true; so is
// a build that cannot download its dependencies. A compile error always
// fails the test.
func Jar(t testing.TB) string {
	t.Helper()
	jarMu.Lock()
	if !jarDone {
		jarPath, jarErr = buildJar()
		jarDone = true
	}
	path, err := jarPath, jarErr
	jarMu.Unlock()
	if err != nil {
		var u unavailableError
		if errors.As(err, &u) {
			unavailable(t, err)
		}
		t.Fatalf("javapeertest: %v", err)
	}
	return path
}

// unavailableError marks a missing environment (skip, or fail in CI), as
// opposed to a broken javapeer (always fail).
type unavailableError struct{ error }

func (e unavailableError) Unwrap() error { return e.error }

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("javapeertest: Java peer unavailable (CI=true, so failing instead of skipping): %v", err)
	}
	t.Skipf("javapeertest: Java peer unavailable, skipping: %v", err)
}

func buildJar() (string, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return "", unavailableError{fmt.Errorf("java not found in PATH: %w", err)}
	}
	javaBin = java
	if j := os.Getenv("JAVAPEER_JAR"); j != "" {
		if _, err := os.Stat(j); err != nil {
			return "", fmt.Errorf("JAVAPEER_JAR: %w", err)
		}
		return j, nil
	}
	dir, err := projectDir()
	if err != nil {
		return "", err
	}
	target := filepath.Join(dir, "target")
	stamp := filepath.Join(target, "javapeer.stamp")
	client := ClientVersion()
	sum, err := sourceHash(dir, client)
	if err != nil {
		return "", err
	}
	jar := filepath.Join(target, "javapeer-"+client+"-"+sum[:16]+".jar")
	if _, err := os.Stat(jar); err == nil {
		return jar, nil
	}
	unlock, err := flock.Lock(buildLockPath(dir))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(jar); err == nil { // built by another test binary while we waited
		return jar, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", unavailableError{fmt.Errorf("mvn not found in PATH (needed to build %s): %w", jar, err)}
	}
	repo, err := mavenRepo()
	if err != nil {
		return "", err
	}
	// Instead of `mvn clean` (which would delete the jars other test
	// binaries run): drop only the compiled classes, so a deleted source
	// leaves no stale class behind.
	if err := os.RemoveAll(filepath.Join(target, "classes")); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "-Dstyle.color=never",
		"-f", filepath.Join(dir, "pom.xml"), "-Dmaven.repo.local="+repo,
		"-Drocketmq.version="+client, "package", "-DskipTests")
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	runErr := cmd.Run()
	log := ansi.ReplaceAllString(out.String(), "")
	built := filepath.Join(target, "javapeer.jar")
	if runErr != nil {
		err := fmt.Errorf("building %s (mvn package, %v): %w\n%s", built, time.Since(start).Round(time.Millisecond), runErr, lastLines(log, 60))
		if networkTrouble.MatchString(log) {
			return "", unavailableError{err}
		}
		return "", err
	}
	if err := copyFile(built, jar); err != nil {
		return "", fmt.Errorf("mvn package succeeded but: %w\n%s", err, log)
	}
	if err := os.WriteFile(stamp, []byte(sum+"\n"), 0o644); err != nil {
		return "", err
	}
	buildDuration = time.Since(start)
	removeOldJars(target, jar)
	return jar, nil
}

// copyFile copies src to dst atomically (temporary file, then rename).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".javapeer-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// removeOldJars deletes jar copies of earlier sources that are more than an
// hour old (a test binary started before them has long had its JVMs
// started; on Unix a running JVM keeps reading a deleted jar anyway).
func removeOldJars(target, keep string) {
	old, _ := filepath.Glob(filepath.Join(target, "javapeer-*.jar"))
	for _, p := range old {
		if p == keep {
			continue
		}
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.Remove(p)
		}
	}
}

var (
	javaBin       = "java"
	buildDuration time.Duration // of the build this process ran (0: none)

	ansi           = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	networkTrouble = regexp.MustCompile(`(?i)could not (resolve|transfer)|unknown ?host|connection (refused|timed out)|network is unreachable|failed to read artifact descriptor|non-resolvable|plugin .* or one of its dependencies could not be resolved`)
)

// DefaultClientVersion is the rocketmq-client release javapeer is built
// against when neither JAVAPEER_CLIENT_VERSION nor RMQ_VERSION says another:
// the release of rmq.sh's default broker.
const DefaultClientVersion = "5.3.3"

// ClientVersion returns the rocketmq-client release Jar builds javapeer
// against: $JAVAPEER_CLIENT_VERSION, else the release of the broker under
// test ($RMQ_VERSION, which `rmq.sh env` exports), else
// DefaultClientVersion; so the witness is always the Java client of the
// broker's own line. 5.5.1 maps to 5.5.0: Maven Central has no
// rocketmq-client 5.5.1 (tools/rocketmq/README.md).
func ClientVersion() string {
	v := os.Getenv("JAVAPEER_CLIENT_VERSION")
	if v == "" {
		v = os.Getenv("RMQ_VERSION")
	}
	switch v {
	case "":
		return DefaultClientVersion
	case "5.5.1":
		return "5.5.0"
	}
	return v
}

// BuildDuration reports how long this process spent building the jar (0
// when it was up to date); for measurements.
func BuildDuration() time.Duration {
	jarMu.Lock()
	defer jarMu.Unlock()
	return buildDuration
}

// projectDir finds tools/javapeer: next to this source file, or by walking
// up from the working directory (builds with -trimpath).
func projectDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
		if _, err := os.Stat(filepath.Join(d, "pom.xml")); err == nil {
			return d, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		d := filepath.Join(dir, "tools", "javapeer")
		if _, err := os.Stat(filepath.Join(d, "pom.xml")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tools/javapeer/pom.xml not found")
		}
		dir = parent
	}
}

// sourceHash is the SHA-256 of pom.xml and every file under src/ (paths and
// contents, in lexical order).
func sourceHash(dir, client string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "rocketmq-client\x00%s\x00", client)
	add := func(rel string) error {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
		return nil
	}
	if err := add("pom.xml"); err != nil {
		return "", err
	}
	err := filepath.WalkDir(filepath.Join(dir, "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return add(rel)
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func buildLockPath(dir string) string {
	s := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "javapeer-build-"+hex.EncodeToString(s[:6])+".lock")
}

func mavenRepo() (string, error) {
	if r := os.Getenv("JAVAPEER_MAVEN_REPO"); r != "" {
		return filepath.Abs(r)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the Maven repository (set JAVAPEER_MAVEN_REPO): %w", err)
	}
	return filepath.Join(home, ".cache", "rocketsend", "m2-javapeer"), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
