#!/usr/bin/env bash
# rmq.sh - run a real Apache RocketMQ cluster (1 NameServer + 2 brokers) on
# 127.0.0.1 for integration tests, straight from the Maven Central jars.
#
# Usage: rmq.sh SUBCOMMAND [ARGS...] [--auth]
#
#   fetch                      download namesrv+broker(+tools) jars and all
#                              runtime deps into the cache (idempotent)
#   start [--auth]             start namesrv, broker-a, broker-b (fresh store)
#                              and wait until both brokers are registered;
#                              last stdout line: NAMESRV=127.0.0.1:<port>
#   stop [--auth]              stop every JVM of this work dir (TERM, then KILL)
#   status [--auth]            show JVMs and registration; exit 0 iff healthy
#   kill-broker NAME [--auth]  kill -9 one broker (failover tests)
#   pause-broker NAME [--auth] SIGSTOP one broker: it keeps its connections
#                              and accepts new ones but never answers (hung
#                              broker tests); stop, kill-broker and
#                              restart-broker resume it first
#   resume-broker NAME [--auth]
#                              SIGCONT a paused broker
#   restart-broker NAME [--auth]
#                              start it again (same conf and store) and wait
#                              until it is registered again
#   logs [--auth]              tail every log file of the cluster
#   env [--auth]               print shell exports (RMQ_NAMESRV, RMQ_BROKER_A,
#                              RMQ_BROKER_B, RMQ_DIR, RMQ_VERSION[,
#                              RMQ_ACCESS_KEY/SECRET_KEY])
#   admin ARGS... [--auth]     run org.apache.rocketmq.tools.command.MQAdminStartup
#                              (the namesrv defaults to this cluster's; exit 1
#                              when the sub command reports a failure)
#
# --auth selects the authentication-enabled variant: ACL 2.0 (user rocketmq /
# 12345678) on 5.x, ACL 1.0 (plain_acl.yml, access key rocketmq / secret key
# 12345678, admin) on 4.9.x. Its own work dir and port base, so both clusters
# can run at the same time.
#
# Release lines: one cache per release. A running cluster records its release
# in cluster.env; `start` with another RMQ_VERSION restarts it with that one,
# `status` reports a cluster of another release as unhealthy.
#
# Environment:
#   RMQ_VERSION        RocketMQ release: 5.3.3 (default), 4.9.7 or 5.5.1 (any
#                      4.9.x or 5.x is tried; see "Release lines" below)
#   RMQ_CACHE          jar cache (default ~/.cache/rocketsend/rocketmq-$RMQ_VERSION)
#   RMQ_MAVEN_REPO     Maven local repo used by fetch (default $RMQ_CACHE/m2)
#   RMQ_DIR            work dir (default <repo>/.rmq/default or <repo>/.rmq/auth)
#   RMQ_PORT_BASE      namesrv port of the default cluster (default 9876)
#   RMQ_AUTH_PORT_BASE namesrv port of the --auth cluster (default 19876)
#                      broker-a listens on base+1035, broker-b on base+1045
#                      (each broker also binds listenPort-2 and listenPort+1)
#   RMQ_START_TIMEOUT  seconds to wait for registration (default 120)
#   RMQ_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 20)
#   RMQ_ADMIN_TIMEOUT  seconds one mqadmin call may take (default 60)
#   RMQ_LOG_LINES      lines per file printed by `logs` (default 40)
#   RMQ_JAVA_OPTS      extra JVM options appended to namesrv/broker command lines
#
# Output: results on stdout, progress and errors on stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

# use_version V sets the release and what follows from it: its line (4 or 5),
# its jar cache, and the modules Central lacks for it.
use_version() {
  RMQ_VERSION="$1"
  case "$RMQ_VERSION" in
    4.9.*) RMQ_LINE=4 ;;
    5.*) RMQ_LINE=5 ;;
    *)
      printf 'rmq: error: RMQ_VERSION=%s: only 4.9.x and 5.x releases are supported (tested: 4.9.7, 5.3.3, 5.5.1)\n' "$RMQ_VERSION" >&2
      exit 1
      ;;
  esac
  # Maven Central's copy of 5.5.1 is incomplete: rocketmq-broker, -common,
  # -remoting, -store, -controller and -tiered-store are there; -namesrv,
  # -client, -tools, -auth, -srvutil and -filter are not. Those six come from
  # 5.5.0, the newest release that has them. The broker, its store and its wire
  # code are 5.5.1's, and the broker announces V5_5_1 in its responses.
  FILL_VERSION=""
  FILL_MODULES=()
  if [[ "$RMQ_VERSION" == 5.5.1 ]]; then
    FILL_VERSION=5.5.0
    FILL_MODULES=(rocketmq-namesrv rocketmq-client rocketmq-tools rocketmq-auth rocketmq-srvutil rocketmq-filter)
  fi
  CACHE="${HOME}/.cache/rocketsend/rocketmq-${RMQ_VERSION}"
  if [[ -n "${RMQ_CACHE:-}" && "$RMQ_VERSION" == "$REQ_VERSION" ]]; then
    CACHE="$RMQ_CACHE"
  fi
  LIB="$CACHE/lib"
  MARKER="$CACHE/.fetch-complete"
}
REQ_VERSION="${RMQ_VERSION:-5.3.3}"
use_version "$REQ_VERSION"
START_TIMEOUT="${RMQ_START_TIMEOUT:-120}"
STOP_TIMEOUT="${RMQ_STOP_TIMEOUT:-20}"
ADMIN_TIMEOUT="${RMQ_ADMIN_TIMEOUT:-60}"
LOG_LINES="${RMQ_LOG_LINES:-40}"
CLUSTER_NAME="DefaultCluster"
BROKERS=(broker-a broker-b)
ROLES=(namesrv broker-a broker-b)

# ACL 2.0 credentials of the --auth variant (SUPER user created at first boot).
AUTH_USER="rocketmq"
AUTH_PASS="12345678"

# JDK 9+ module flags: the store casts mmapped buffers to sun.nio.ch.DirectBuffer
# and some paths use reflection into java.lang / java.nio (reference §14.3).
# 4.9.x was built for Java 8 and needs two of them on JDK 17 (found by running
# it without any): MappedFile.clean unmaps a file through reflection,
# DirectByteBuffer.attachment()/cleaner() (--add-opens java.base/java.nio) and
# then jdk.internal.ref.Cleaner.clean() (--add-exports java.base/jdk.internal.ref).
# Without them the broker's shutdown hook dies with InaccessibleObjectException
# before the store is closed, and every expired commit-log file deleted later
# stays mapped. It boots and serves without them, so only stop shows it.
OPENS=(
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
)
COMMON_JVM=(
  -XX:+UseG1GC -XX:TieredStopAtLevel=1 -XX:-OmitStackTraceInFastThrow
  -XX:-UseLargePages -XX:+PerfDisableSharedMem -Djava.net.preferIPv4Stack=true
  -Dfile.encoding=UTF-8
  # Plain TCP only: the default "permissive" TLS mode builds a self-signed
  # SSLContext per server at boot, which costs ~5 s each on a small host.
  -Dtls.server.mode=disabled
)
NAMESRV_JVM=(-Xms128m -Xmx128m -Xmn64m -XX:MaxMetaspaceSize=128m -XX:MaxDirectMemorySize=64m)
BROKER_JVM=(-Xms256m -Xmx256m -Xmn128m -XX:MaxMetaspaceSize=192m -XX:MaxDirectMemorySize=192m)
ADMIN_JVM=(
  -Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+PerfDisableSharedMem
)

# line_jvm_flags prints the JVM options that depend on the release line.
line_jvm_flags() {
  if [[ "$RMQ_LINE" == 4 ]]; then
    # Keep logback's own status chatter out of ROLE.out (4.9.x: plain logback).
    echo -Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener
  else
    # Keep logback's own status chatter (~40 KB per broker) out of ROLE.out
    # (5.x shades logback under org.apache.rocketmq.logging).
    echo -Dlogback.statusListenerClass=org.apache.rocketmq.logging.ch.qos.logback.core.status.NopStatusListener
  fi
}

log() { printf 'rmq: %s\n' "$*" >&2; }
die() {
  printf 'rmq: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- tools / fetch

# ensure_tools CMD... installs a JDK 17 + Maven via apt when something is
# missing and we are root on a Debian-like host; otherwise fails clearly.
ensure_tools() {
  local missing=() c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if ((${#missing[@]} > 0)); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log "missing ${missing[*]}: installing openjdk-17-jdk-headless maven with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 ||
        die "apt-get update failed"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        openjdk-17-jdk-headless maven >&2 ||
        die "apt-get install openjdk-17-jdk-headless maven failed"
      for c in "${missing[@]}"; do
        command -v "$c" >/dev/null 2>&1 || die "$c still missing after apt-get install"
      done
    else
      die "missing ${missing[*]}: install a JDK (>= 11, 17 recommended) and Maven 3 (e.g. apt-get install openjdk-17-jdk-headless maven)"
    fi
  fi
  if [[ " $* " == *" java "* ]]; then
    local ver major
    ver="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
    major="${ver%%.*}"
    [[ "$major" == 1 ]] && major=8
    [[ "$major" =~ ^[0-9]+$ ]] || die "cannot parse java version from: $(java -version 2>&1 | head -n1)"
    ((major >= 11)) || die "java $ver is too old: need JDK >= 11 (17 recommended)"
  fi
}

fetched() { [[ -f "$MARKER" && -d "$LIB" ]]; }

cmd_fetch() {
  mkdir -p "$CACHE"
  if fetched; then
    return 0
  fi
  local lock="$CACHE/.fetch.lock"
  exec 8>"$lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 1800 8 || die "timed out waiting for another fetch ($lock)"
  fi
  if fetched; then # another process finished while we waited
    exec 8>&-
    return 0
  fi
  ensure_tools java mvn
  local m2="${RMQ_MAVEN_REPO:-$CACHE/m2}" partial="$CACHE/lib.partial" t0=$SECONDS
  log "fetching RocketMQ $RMQ_VERSION from Maven Central into $CACHE (first time only)"
  rm -rf "$partial" "$MARKER"
  local fill="" m nsver="${FILL_VERSION:-$RMQ_VERSION}"
  if [[ -n "$FILL_VERSION" ]]; then
    log "Maven Central lacks ${FILL_MODULES[*]} $RMQ_VERSION: taking them from $FILL_VERSION"
    fill="  <dependencyManagement>
    <dependencies>"
    for m in "${FILL_MODULES[@]}"; do
      fill+="
      <dependency><groupId>org.apache.rocketmq</groupId><artifactId>$m</artifactId><version>$FILL_VERSION</version></dependency>"
    done
    # ... and the modules Central has stay at the release (nearest-wins would
    # take 5.5.0's through the NameServer's dependencies otherwise).
    for m in rocketmq-common rocketmq-remoting rocketmq-store rocketmq-controller rocketmq-tiered-store; do
      fill+="
      <dependency><groupId>org.apache.rocketmq</groupId><artifactId>$m</artifactId><version>$RMQ_VERSION</version></dependency>"
    done
    fill+="
    </dependencies>
  </dependencyManagement>"
  fi
  cat >"$CACHE/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- throwaway pom written by rmq.sh fetch: only used to resolve runtime jars -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.rocketsend</groupId>
  <artifactId>rocketmq-runtime</artifactId>
  <version>${RMQ_VERSION}</version>
  <packaging>pom</packaging>
${fill}
  <dependencies>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-namesrv</artifactId>
      <version>${nsver}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-broker</artifactId>
      <version>${RMQ_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.6.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
  # Maven 3.8 prints bare ANSI resets even in batch mode: strip them.
  if ! mvn -q -B -Dstyle.color=never -f "$CACHE/pom.xml" -Dmaven.repo.local="$m2" \
    dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$partial" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?)"
  fi
  local a
  for a in "rocketmq-namesrv-$nsver" "rocketmq-broker-$RMQ_VERSION" "rocketmq-tools-$nsver"; do
    [[ -f "$partial/$a.jar" ]] || die "fetch incomplete: $a.jar missing"
  done
  rm -rf "$LIB"
  mv "$partial" "$LIB"
  printf 'rocketmq %s fetched %s\n' "$RMQ_VERSION" "$(date -u +%FT%TZ)" >"$MARKER"
  log "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
  exec 8>&-
}

# ---------------------------------------------------------------- cluster setup

# setup_cluster AUTH(0|1): computes DIR, ports and file locations. A running
# cluster's recorded ports (cluster.env) win over the environment, so stop /
# status work whatever RMQ_PORT_BASE says now.
setup_cluster() {
  AUTH="$1"
  RUN_VERSION=""
  local name=default base
  if [[ "$AUTH" == 1 ]]; then
    name=auth
    base="${RMQ_AUTH_PORT_BASE:-19876}"
  else
    base="${RMQ_PORT_BASE:-9876}"
  fi
  if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 1 || base + 1046 > 65535)); then
    die "bad port base: $base"
  fi
  DIR="${RMQ_DIR:-$REPO_ROOT/.rmq/$name}"
  [[ "$DIR" == /* ]] || DIR="$PWD/$DIR"
  STATE="$DIR/cluster.env"
  REQ_NS_PORT=$base
  REQ_BA_PORT=$((base + 1035))
  REQ_BB_PORT=$((base + 1045))
  NS_PORT=$REQ_NS_PORT
  BA_PORT=$REQ_BA_PORT
  BB_PORT=$REQ_BB_PORT
  if [[ -f "$STATE" ]]; then
    local s_auth="" s_ns="" s_ba="" s_bb="" s_ver=""
    local k v
    while IFS='=' read -r k v; do
      case "$k" in
        RMQ_STATE_VERSION) s_ver="$v" ;;
        RMQ_STATE_AUTH) s_auth="$v" ;;
        RMQ_STATE_NS_PORT) s_ns="$v" ;;
        RMQ_STATE_BA_PORT) s_ba="$v" ;;
        RMQ_STATE_BB_PORT) s_bb="$v" ;;
      esac
    done <"$STATE"
    if [[ -n "$s_auth" && "$s_auth" != "$AUTH" ]] && any_alive; then
      if [[ "$AUTH" == 1 ]]; then
        die "$DIR holds a running cluster WITHOUT auth; unset RMQ_DIR (or point it elsewhere) for --auth"
      else
        die "$DIR holds a running --auth cluster; add --auth or unset RMQ_DIR"
      fi
    fi
    if [[ "$s_auth" == "$AUTH" && -n "$s_ns" && -n "$s_ba" && -n "$s_bb" ]]; then
      NS_PORT=$s_ns
      BA_PORT=$s_ba
      BB_PORT=$s_bb
    fi
    # A cluster started before releases were recorded is 5.3.3.
    RUN_VERSION="${s_ver:-5.3.3}"
  fi
  NAMESRV="127.0.0.1:$NS_PORT"
}

base_var() {
  if [[ "$AUTH" == 1 ]]; then echo RMQ_AUTH_PORT_BASE; else echo RMQ_PORT_BASE; fi
}

broker_port() {
  case "$1" in
    broker-a) echo "$BA_PORT" ;;
    broker-b) echo "$BB_PORT" ;;
    *) die "unknown broker '$1' (want broker-a or broker-b)" ;;
  esac
}

pid_file() { echo "$DIR/pids/$1.pid"; }

# role_pid ROLE prints the pid of our JVM for ROLE if it is alive. The command
# line must carry our -Duser.home, so a recycled pid is never mistaken for ours.
role_pid() {
  local f pid args
  f="$(pid_file "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  else
    args="$(ps -ww -o args= -p "$pid" 2>/dev/null)" || return 1
  fi
  [[ "$args" == *"-Duser.home=$DIR/$1 "* ]] || return 1
  echo "$pid"
}

alive() { role_pid "$1" >/dev/null; }

# pid_running PID: kill -0 alone counts zombies (exited, not yet reaped) as
# alive; this does not.
pid_running() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z* ]]
}

any_alive() {
  local r
  for r in "${ROLES[@]}"; do
    alive "$r" && return 0
  done
  return 1
}

all_alive() {
  local r
  for r in "${ROLES[@]}"; do
    alive "$r" || return 1
  done
  return 0
}

# take_lock serialises start/stop/kill/restart on one work dir. The fd is
# closed for every JVM we launch (9>&-) so they never hold it.
take_lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.rmq.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 600 9 || die "timed out waiting for the lock on $DIR"
  fi
}

port_in_use() {
  local p="$1"
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Htln "( sport = :$p )" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
  fi
}

all_ports() {
  echo "$NS_PORT"
  local p
  for p in "$BA_PORT" "$BB_PORT"; do
    echo "$((p - 2)) $p $((p + 1))"
  done
}

write_configs() {
  local home="$DIR/home" b port
  mkdir -p "$home/conf" "$DIR/conf" "$DIR/logs" "$DIR/pids" "$DIR/namesrv"
  cat >"$DIR/conf/namesrv.conf" <<EOF
listenPort=$NS_PORT
bindAddress=127.0.0.1
# The NameServer's internal client would otherwise probe its own NIC address
# (NetworkUtil.getLocalAddress():port) every few seconds; stay on loopback.
scanAvailableNameSrv=false
rocketmqHome=$home
kvConfigPath=$DIR/namesrv/kvConfig.json
EOF
  for b in "${BROKERS[@]}"; do
    port="$(broker_port "$b")"
    mkdir -p "$DIR/$b/store"
    cat >"$DIR/conf/$b.conf" <<EOF
brokerClusterName=$CLUSTER_NAME
brokerName=$b
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=$NAMESRV
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
bindAddress=127.0.0.1
listenPort=$port
haListenPort=$((port + 1))
storePathRootDir=$DIR/$b/store
storePathCommitLog=$DIR/$b/store/commitlog
rocketmqHome=$home
registerNameServerPeriod=10000
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
traceTopicEnable=true
timerWheelEnable=true
# Producer.RecallMessage (RocketMQ 5.3.2+) is refused unless the broker allows it; older
# brokers ignore the key.
recallMessageEnable=true
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
maxHashSlotNum=100000
maxIndexNum=400000
mappedFileSizeTimerLog=16777216
diskMaxUsedSpaceRatio=95
diskSpaceWarningLevelRatio=99
waitTimeMillsInSendQueue=1000
transactionTimeOut=2000
transactionCheckInterval=2000
sendMessageThreadPoolNums=2
pullMessageThreadPoolNums=4
litePullMessageThreadPoolNums=2
queryMessageThreadPoolNums=2
adminBrokerThreadPoolNums=2
clientManageThreadPoolNums=2
consumerManageThreadPoolNums=2
heartbeatThreadPoolNums=2
endTransactionThreadPoolNums=2
processReplyMessageThreadPoolNums=2
EOF
    if [[ "$AUTH" == 1 && "$RMQ_LINE" == 4 ]]; then
      # ACL 1.0: the broker reads the accounts from $ROCKETMQ_HOME/conf/plain_acl.yml.
      echo "aclEnable=true" >>"$DIR/conf/$b.conf"
    elif [[ "$AUTH" == 1 ]]; then
      cat >>"$DIR/conf/$b.conf" <<EOF
authenticationEnabled=true
authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
initAuthenticationUser={"username":"$AUTH_USER","password":"$AUTH_PASS"}
innerClientAuthenticationCredentials={"accessKey":"$AUTH_USER","secretKey":"$AUTH_PASS"}
EOF
    fi
  done
  write_tools_yml
  if [[ "$RMQ_LINE" == 4 ]]; then
    write_v4_home
  fi
  {
    echo "RMQ_STATE_VERSION=$RMQ_VERSION"
    echo "RMQ_STATE_AUTH=$AUTH"
    echo "RMQ_STATE_NS_PORT=$NS_PORT"
    echo "RMQ_STATE_BA_PORT=$BA_PORT"
    echo "RMQ_STATE_BB_PORT=$BB_PORT"
  } >"$STATE"
}

# write_tools_yml: MQAdminStartup signs its requests with the accessKey /
# secretKey from $ROCKETMQ_HOME/conf/tools.yml when that file exists.
write_tools_yml() {
  mkdir -p "$DIR/home/conf"
  if [[ "$AUTH" == 1 ]]; then
    printf 'accessKey: %s\nsecretKey: %s\n' "$AUTH_USER" "$AUTH_PASS" >"$DIR/home/conf/tools.yml"
  else
    rm -f "$DIR/home/conf/tools.yml"
  fi
}

# write_v4_home writes what a 4.9.x server reads from $ROCKETMQ_HOME/conf: its
# logback configuration (NamesrvStartup, BrokerStartup and MQAdminStartup
# configure logback from conf/logback_<role>.xml and exit when it is missing;
# 5.x ships its configuration inside its jars) and, for --auth, ACL 1.0's
# plain_acl.yml: one admin account, no white-listed address, so every request
# must be signed.
write_v4_home() {
  local role file
  mkdir -p "$DIR/home/conf"
  for role in namesrv broker tools; do
    file='${user.home}/logs/rocketmqlogs/'"$role.log"
    cat >"$DIR/home/conf/logback_$role.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by rmq.sh: every logger into one file, as 5.x's bundled configuration does per role -->
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$file</file>
    <append>true</append>
    <encoder><pattern>%d{yyyy-MM-dd HH:mm:ss.SSS} %-5p [%t] %c{0} - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
  done
  if [[ "$AUTH" == 1 ]]; then
    cat >"$DIR/home/conf/plain_acl.yml" <<EOF
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: $AUTH_USER
    secretKey: "$AUTH_PASS"
    whiteRemoteAddress:
    admin: true
EOF
  fi
}

# launch ROLE starts one JVM in the background; stdout/stderr go to
# $DIR/logs/ROLE.out (the previous one is kept as ROLE.out.1).
launch() {
  local role="$1" main conf out
  local -a mem
  out="$DIR/logs/$role.out"
  if [[ "$role" == namesrv ]]; then
    main=org.apache.rocketmq.namesrv.NamesrvStartup
    mem=("${NAMESRV_JVM[@]}")
  else
    main=org.apache.rocketmq.broker.BrokerStartup
    mem=("${BROKER_JVM[@]}")
  fi
  conf="$DIR/conf/$role.conf"
  mkdir -p "$DIR/$role" "$DIR/logs" "$DIR/pids"
  [[ -f "$out" ]] && mv -f "$out" "$out.1"
  local -a extra=()
  if [[ -n "${RMQ_JAVA_OPTS:-}" ]]; then
    read -r -a extra <<<"$RMQ_JAVA_OPTS"
  fi
  # -Duser.home must stay followed by a space in the command line: role_pid
  # matches on it. Logs land in $DIR/$role/logs/rocketmqlogs/.
  (
    cd "$DIR/$role"
    export ROCKETMQ_HOME="$DIR/home"
    # shellcheck disable=SC2046 # one option per word
    exec nohup java "${OPENS[@]}" "${mem[@]}" "${COMMON_JVM[@]}" $(line_jvm_flags) "${extra[@]}" \
      -Duser.home="$DIR/$role" -Drocketmq.home.dir="$DIR/home" \
      -Drmq.logback.configurationFile="rmq.${role%%-*}.logback.xml" \
      -cp "$LIB/*" "$main" -c "$conf"
  ) </dev/null >"$out" 2>&1 9>&- &
  echo "$!" >"$(pid_file "$role")"
  # Wait (briefly) for the subshell to exec java so role_pid recognises it.
  local i=0
  while ! alive "$role" && pid_running "$!" && ((i < 50)); do
    sleep 0.1
    i=$((i + 1))
  done
}

tail_logs() {
  local f
  for f in "$DIR"/logs/*.out "$DIR"/*/logs/rocketmqlogs/namesrv.log "$DIR"/*/logs/rocketmqlogs/broker.log; do
    [[ -f "$f" ]] || continue
    printf '==> %s <==\n' "$f"
    tail -n "$LOG_LINES" "$f"
  done
}

# admin_run ARGS... runs MQAdminStartup; stdout/stderr pass through. Returns 1
# when the tool reported a failure (it always exits 0 by itself).
admin_run() {
  local out err rc=0
  out="$(mktemp)"
  err="$(mktemp)"
  mkdir -p "$DIR/admin"
  if [[ ! -d "$DIR/home/conf" ]]; then
    write_tools_yml
    if [[ "$RMQ_LINE" == 4 ]]; then write_v4_home; fi
  fi
  # shellcheck disable=SC2046 # one option per word
  ROCKETMQ_HOME="$DIR/home" timeout "$ADMIN_TIMEOUT" java "${OPENS[@]}" "${ADMIN_JVM[@]}" $(line_jvm_flags) \
    -Duser.home="$DIR/admin" -Drocketmq.home.dir="$DIR/home" \
    -Drmq.logback.configurationFile=rmq.tools.logback.xml \
    -Drocketmq.namesrv.addr="$NAMESRV" \
    -cp "$LIB/*" org.apache.rocketmq.tools.command.MQAdminStartup "$@" \
    </dev/null >"$out" 2>"$err" 9>&- || rc=$?
  cat "$out"
  cat "$err" >&2
  if ((rc == 0)) && grep -q -E 'command failed|SubCommandException|The sub command .* not exist|MQAdminStartup\.main0' "$out" "$err"; then
    rc=1
  fi
  rm -f "$out" "$err"
  return "$rc"
}

# ns_cluster_info prints the NameServer's answer to GET_BROKER_CLUSTER_INFO
# (request code 106, the call `mqadmin clusterList` starts with), spoken
# directly over bash's /dev/tcp: 30 ms instead of ~5 s for an mqadmin JVM.
# Frame: int32 total length, int32 header length (high byte 0 = JSON), header.
# Prints nothing when the NameServer does not answer within 5 s.
ns_cluster_info() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  local probe='
    be32() { printf "\\x%02x\\x%02x\\x%02x\\x%02x" $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
    hdr="{\"code\":106,\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":453}"
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "$(be32 $((${#hdr} + 4)))$(be32 ${#hdr})%s" "$hdr" >&3
    n=$(head -c 4 <&3 | od -An -tu1 | awk "{ print \$1 * 16777216 + \$2 * 65536 + \$3 * 256 + \$4 }")
    [ -n "$n" ] && [ "$n" -gt 4 ] && head -c "$n" <&3 | tail -c +5'
  timeout 5 bash -c "$probe" rmq-probe "$NS_PORT" 2>/dev/null 9>&- || true
}

# registered BROKER...: true when the NameServer lists every given broker as
# master (id 0) of DefaultCluster at its 127.0.0.1:port. Falls back to
# `mqadmin clusterList` if the raw probe got no answer at all.
registered() {
  local info b port
  info="$(ns_cluster_info | tr -d '\0')"
  if [[ "$info" == *'"code":0'*brokerAddrTable* ]]; then
    for b in "$@"; do
      port="$(broker_port "$b")"
      [[ "$info" =~ \"brokerAddrs\":\{\"?0\"?:\"127\.0\.0\.1:$port\"\},\"brokerName\":\"$b\",\"cluster\":\"$CLUSTER_NAME\" ]] || return 1
    done
    return 0
  fi
  local out
  out="$(admin_run clusterList -n "$NAMESRV" 2>/dev/null)" || return 1
  for b in "$@"; do
    awk -v c="$CLUSTER_NAME" -v b="$b" -v a="127.0.0.1:$(broker_port "$b")" \
      '$1 == c && $2 == b && $4 == a { found = 1 } END { exit !found }' <<<"$out" || return 1
  done
}

booted() { # booted ROLE: the JVM printed its readiness line
  local pat="boot success"
  grep -q "$pat" "$DIR/logs/$1.out" 2>/dev/null
}

# wait_ready ROLE...: waits until the roles' JVMs booted and the given brokers
# are registered; fails fast (with logs) when one of them dies.
wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) r brokers=()
  for r in "$@"; do
    [[ "$r" == namesrv ]] || brokers+=("$r")
  done
  while :; do
    for r in namesrv "$@"; do
      if ! alive "$r"; then
        log "$r died during startup; logs follow"
        tail_logs >&2
        return 1
      fi
    done
    local all_booted=1
    for r in "$@"; do
      booted "$r" || all_booted=0
    done
    if ((all_booted)) && { ((${#brokers[@]} == 0)) || registered "${brokers[@]}"; }; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${START_TIMEOUT}s waiting for: $*; logs follow"
      tail_logs >&2
      return 1
    fi
    sleep 1
  done
}

# stop_roles ROLE...: TERM, wait up to STOP_TIMEOUT, then KILL.
stop_roles() {
  local r pid pids=() deadline
  for r in "$@"; do
    if pid="$(role_pid "$r")"; then
      kill -TERM "$pid" 2>/dev/null || true
      kill -CONT "$pid" 2>/dev/null || true # a paused JVM acts on TERM only once resumed
      pids+=("$r:$pid")
    fi
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for r in "${pids[@]}"; do
    while alive "${r%%:*}" && ((SECONDS < deadline)); do
      sleep 0.5
    done
    if pid="$(role_pid "${r%%:*}")"; then
      log "${r%%:*} (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s: killing"
      kill -KILL "$pid" 2>/dev/null || true
      while pid_running "$pid"; do sleep 0.2; done
    fi
  done
  for r in "$@"; do
    rm -f "$(pid_file "$r")"
  done
}

# ---------------------------------------------------------------- subcommands

healthy() { all_alive && registered "${BROKERS[@]}"; }

# stale_version: the running cluster is of another release than requested.
stale_version() { [[ -n "$RUN_VERSION" && "$RUN_VERSION" != "$REQ_VERSION" ]]; }

cmd_start() {
  ensure_tools java
  fetched || cmd_fetch
  take_lock
  if any_alive; then
    if [[ "$NS_PORT/$BA_PORT/$BB_PORT" != "$REQ_NS_PORT/$REQ_BA_PORT/$REQ_BB_PORT" ]]; then
      die "$DIR already runs a cluster on namesrv port $NS_PORT (requested $REQ_NS_PORT); stop it first"
    fi
    if stale_version; then
      log "cluster in $DIR runs RocketMQ $RUN_VERSION, $REQ_VERSION requested: restarting it"
      stop_roles broker-a broker-b namesrv
    elif healthy; then
      log "cluster in $DIR already running"
      echo "NAMESRV=$NAMESRV"
      return 0
    else
      log "cluster in $DIR is not healthy: restarting it"
      stop_roles broker-a broker-b namesrv
    fi
  fi
  NS_PORT=$REQ_NS_PORT BA_PORT=$REQ_BA_PORT BB_PORT=$REQ_BB_PORT
  NAMESRV="127.0.0.1:$NS_PORT"
  local p
  for p in $(all_ports); do
    if port_in_use "$p"; then
      local who=""
      command -v ss >/dev/null 2>&1 && who="$(ss -Htlnp "( sport = :$p )" 2>/dev/null | head -n1)"
      die "port $p is already in use by a process that is not this cluster ($DIR)${who:+: $who}; stop it or pick another $(base_var)"
    fi
  done
  # Fresh store and logs each start.
  local d
  for d in namesrv broker-a broker-b home conf logs pids admin; do
    rm -rf "${DIR:?}/$d"
  done
  rm -f "$STATE"
  write_configs
  local t0=$SECONDS
  log "starting RocketMQ $RMQ_VERSION namesrv on $NAMESRV (dir $DIR, auth=$AUTH)"
  launch namesrv
  # Brokers register at boot and then every registerNameServerPeriod: start
  # them once the NameServer accepts connections.
  local deadline=$((SECONDS + START_TIMEOUT))
  until booted namesrv; do
    if ! alive namesrv; then
      log "namesrv died during startup; logs follow"
      tail_logs >&2
      stop_roles "${ROLES[@]}"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "namesrv did not boot in ${START_TIMEOUT}s; logs follow"
      tail_logs >&2
      stop_roles "${ROLES[@]}"
      exit 1
    fi
    sleep 0.5
  done
  log "starting broker-a (127.0.0.1:$BA_PORT) and broker-b (127.0.0.1:$BB_PORT)"
  launch broker-a
  launch broker-b
  if ! wait_ready broker-a broker-b; then
    stop_roles "${ROLES[@]}"
    exit 1
  fi
  log "cluster ready in $((SECONDS - t0))s"
  echo "NAMESRV=$NAMESRV"
}

cmd_stop() {
  take_lock
  # All at once: brokers unregister in the first milliseconds of their
  # shutdown hook while the NameServer's own hook still serves; a broker's
  # graceful shutdown takes ~12 s on a 2-core host.
  stop_roles broker-a broker-b namesrv
}

cmd_kill_broker() {
  local b="$1" pid
  broker_port "$b" >/dev/null
  take_lock
  if pid="$(role_pid "$b")"; then
    kill -KILL "$pid"
    while pid_running "$pid"; do sleep 0.1; done
    log "killed $b (pid $pid)"
  else
    log "$b is not running"
  fi
}

cmd_pause_broker() {
  local b="$1" pid
  broker_port "$b" >/dev/null
  take_lock
  pid="$(role_pid "$b")" || die "$b is not running"
  kill -STOP "$pid"
  log "paused $b (pid $pid, SIGSTOP)"
}

cmd_resume_broker() {
  local b="$1" pid
  broker_port "$b" >/dev/null
  take_lock
  pid="$(role_pid "$b")" || die "$b is not running"
  kill -CONT "$pid"
  log "resumed $b (pid $pid, SIGCONT)"
}

cmd_restart_broker() {
  local b="$1" port p
  port="$(broker_port "$b")"
  [[ -f "$DIR/conf/$b.conf" ]] || die "no config for $b in $DIR: run start first"
  ensure_tools java
  take_lock
  alive namesrv || die "namesrv of $DIR is not running: use start"
  if alive "$b"; then
    log "$b is running: stopping it first"
    stop_roles "$b"
  fi
  for p in $((port - 2)) "$port" $((port + 1)); do
    # A killed broker's ports are free at once; wait briefly for TIME_WAIT-free
    # listeners of a just-stopped one to go away.
    local i=0
    while port_in_use "$p" && ((i < 20)); do
      sleep 0.5
      i=$((i + 1))
    done
    port_in_use "$p" && die "port $p is in use by a process that is not $b of $DIR"
  done
  log "restarting $b"
  launch "$b"
  wait_ready "$b" || {
    stop_roles "$b"
    exit 1
  }
  log "$b registered again"
}

cmd_status() {
  local r pid state rc=0 ns_up=0
  echo "cluster $CLUSTER_NAME version=$RMQ_VERSION dir=$DIR auth=$([[ "$AUTH" == 1 ]] && echo yes || echo no) namesrv=$NAMESRV"
  alive namesrv && ns_up=1
  if any_alive && stale_version; then
    echo "runs RocketMQ $RUN_VERSION, not the requested $REQ_VERSION (RMQ_VERSION): start restarts it"
    rc=1
  fi
  for r in "${ROLES[@]}"; do
    if pid="$(role_pid "$r")"; then
      state="running pid=$pid"
    else
      state="stopped"
      rc=1
    fi
    if [[ "$r" == namesrv ]]; then
      printf '%-9s %-22s %s\n' "$r" "$NAMESRV" "$state"
    else
      local addr regd="unregistered"
      addr="127.0.0.1:$(broker_port "$r")"
      if ((ns_up)) && registered "$r"; then
        regd="registered"
      else
        rc=1
      fi
      printf '%-9s %-22s %s %s\n' "$r" "$addr" "$state" "$regd"
    fi
  done
  return "$rc"
}

cmd_env() {
  echo "export RMQ_NAMESRV=$NAMESRV"
  echo "export RMQ_BROKER_A=127.0.0.1:$BA_PORT"
  echo "export RMQ_BROKER_B=127.0.0.1:$BB_PORT"
  echo "export RMQ_DIR=$DIR"
  echo "export RMQ_VERSION=$RMQ_VERSION"
  if [[ "$AUTH" == 1 ]]; then
    echo "export RMQ_ACCESS_KEY=$AUTH_USER"
    echo "export RMQ_SECRET_KEY=$AUTH_PASS"
  fi
}

cmd_logs() {
  [[ -d "$DIR" ]] || die "no cluster dir $DIR"
  tail_logs
}

cmd_admin() {
  ((${#ARGS[@]} > 0)) || die "usage: rmq.sh admin SUBCOMMAND [ARGS...] [--auth]"
  ensure_tools java
  fetched || die "jars not fetched: run rmq.sh fetch"
  admin_run "${ARGS[@]}"
}

main() {
  (($# > 0)) || usage
  local cmd="$1" auth=0 a
  shift
  ARGS=()
  for a in "$@"; do
    if [[ "$a" == --auth ]]; then
      auth=1
    else
      ARGS+=("$a")
    fi
  done
  case "$cmd" in
    fetch)
      cmd_fetch
      return
      ;;
    -h | --help | help) usage ;;
  esac
  setup_cluster "$auth"
  # Every subcommand but start works on the running cluster's own release.
  if [[ "$cmd" != start && -n "$RUN_VERSION" && "$RUN_VERSION" != "$RMQ_VERSION" ]] && any_alive; then
    use_version "$RUN_VERSION"
  fi
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs ;;
    admin) cmd_admin ;;
    kill-broker)
      ((${#ARGS[@]} == 1)) || die "usage: rmq.sh kill-broker broker-a|broker-b [--auth]"
      cmd_kill_broker "${ARGS[0]}"
      ;;
    pause-broker)
      ((${#ARGS[@]} == 1)) || die "usage: rmq.sh pause-broker broker-a|broker-b [--auth]"
      cmd_pause_broker "${ARGS[0]}"
      ;;
    resume-broker)
      ((${#ARGS[@]} == 1)) || die "usage: rmq.sh resume-broker broker-a|broker-b [--auth]"
      cmd_resume_broker "${ARGS[0]}"
      ;;
    restart-broker)
      ((${#ARGS[@]} == 1)) || die "usage: rmq.sh restart-broker broker-a|broker-b [--auth]"
      cmd_restart_broker "${ARGS[0]}"
      ;;
    *)
      log "unknown subcommand: $cmd"
      usage
      ;;
  esac
}

main "$@"
