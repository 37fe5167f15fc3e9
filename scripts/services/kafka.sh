# Apache Kafka 4.x in KRaft mode (no ZooKeeper), one node that is broker and controller at once: clients on
# 127.0.0.1:${FERRY_KAFKA_PORT:-59092}, the controller on ${FERRY_KAFKA_CONTROLLER_PORT:-59093}. The broker's jars are
# copied from Maven Central with Maven (`org.apache.kafka:kafka_2.13` and its runtime dependencies, plus log4j's slf4j
# binding for its logs) into $FERRY_SERVICES_DIR/kafka/lib once per pin; Java 17 runs them. Replication factors are 1
# (one node), so acks=all means this node's log.

KAFKA_PORT="${FERRY_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${FERRY_KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_DIR="$FERRY_SERVICES_DIR/kafka"
KAFKA_VERSION="4.4.0"
KAFKA_LOG4J_VERSION="2.25.5"

kafka_install() {
  local pin="kafka_2.13:$KAFKA_VERSION log4j:$KAFKA_LOG4J_VERSION"
  if [ "$(cat "$KAFKA_DIR/lib/.installed" 2>/dev/null)" = "$pin" ]; then return 0; fi
  command -v java >/dev/null 2>&1 || apt_install java openjdk-17-jre-headless
  apt_install mvn maven
  echo "installing Apache Kafka $KAFKA_VERSION (Maven artifacts, into $KAFKA_DIR/lib)..."
  local start=$SECONDS build="$KAFKA_DIR/build"
  rm -rf "$KAFKA_DIR/lib" "$build"
  mkdir -p "$build"
  cat >"$build/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ferry.services</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$KAFKA_LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  if ! (cd "$build" && mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$KAFKA_DIR/lib" -DincludeScope=runtime >"$KAFKA_DIR/install.log" 2>&1); then
    echo "kafka: copying the Maven artifacts failed (log: $KAFKA_DIR/install.log)" >&2
    tail -5 "$KAFKA_DIR/install.log" >&2
    return 1
  fi
  echo "$pin" >"$KAFKA_DIR/lib/.installed"
  echo "kafka: $(find "$KAFKA_DIR/lib" -name '*.jar' | wc -l) jars in $((SECONDS - start)) s"
}

kafka_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
PROPS
  cat >"$KAFKA_DIR/log4j2.properties" <<PROPS
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
PROPS
}

kafka_java() {
  java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$KAFKA_DIR/lib/*" "$@"
}

kafka_up() {
  kafka_install || return 1
  if pid_alive "$KAFKA_DIR/kafka.pid"; then
    echo "kafka: already running on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  kafka_config
  # The storage is formatted once (a cluster id of its own); a restart keeps the topics and their data.
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster
    cluster="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    if ! kafka_java kafka.tools.StorageTool format -t "$cluster" -c "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/format.log" 2>&1; then
      echo "kafka: formatting the storage failed (log: $KAFKA_DIR/format.log)" >&2
      tail -5 "$KAFKA_DIR/format.log" >&2
      return 1
    fi
  fi
  setsid nohup java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_DIR/lib/*" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/server.log" 2>&1 &
  echo $! >"$KAFKA_DIR/kafka.pid"
  # Ready when the client port accepts connections (the node is its own controller: it serves once it listens).
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
      echo "kafka: running on 127.0.0.1:$KAFKA_PORT (Apache Kafka $KAFKA_VERSION, KRaft)"
      return 0
    fi
    pid_alive "$KAFKA_DIR/kafka.pid" || break
    sleep 0.2
  done
  echo "kafka: did not start (log: $KAFKA_DIR/server.log)" >&2
  tail -5 "$KAFKA_DIR/server.log" >&2
  return 1
}

kafka_down() {
  stop_pid "$KAFKA_DIR/kafka.pid" kafka
}

kafka_status() {
  if pid_alive "$KAFKA_DIR/kafka.pid"; then
    echo "kafka: up (127.0.0.1:$KAFKA_PORT, pid $(head -1 "$KAFKA_DIR/kafka.pid"))"
  else
    echo "kafka: down"
    return 1
  fi
}

kafka_env() {
  echo "export FERRY_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export FERRY_TEST_KAFKA_DIR=$KAFKA_DIR"
}
