package dev.clickstream.runners;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** The few calls of Flink's REST API the launcher and its tests make: overview, jobs, TaskManagers, savepoints. */
public final class FlinkRest {
  /** One job as {@code /jobs/overview} lists it. */
  public record Job(String id, String name, String state, long startTime) {}

  /** One registered TaskManager: its resource id, which the local cluster sets to the process's name. */
  record TaskManager(String id, int slots, int freeSlots) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String address;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** @param address HOST:PORT of the JobManager's REST endpoint, with or without http:// */
  public FlinkRest(String address) {
    this.address = address.replaceFirst("^https?://", "").replaceFirst("/+$", "");
  }

  String webUi() {
    return "http://" + address;
  }

  String jobPage(String jobId) {
    return webUi() + "/#/job/running/" + jobId + "/overview";
  }

  /** Whether the REST endpoint answers at all. */
  boolean isUp() {
    try {
      get("/overview");
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  JsonNode overview() throws IOException {
    return get("/overview");
  }

  List<Job> jobs() throws IOException {
    List<Job> jobs = new ArrayList<>();
    for (JsonNode job : get("/jobs/overview").path("jobs")) {
      jobs.add(new Job(job.path("jid").asText(), job.path("name").asText(), job.path("state").asText(),
          job.path("start-time").asLong()));
    }
    jobs.sort(Comparator.comparingLong(Job::startTime));
    return jobs;
  }

  /** The most recently started job called {@code name}. */
  public Optional<Job> latestJobNamed(String name) throws IOException {
    return jobs().stream().filter(job -> job.name().equals(name)).reduce((first, second) -> second);
  }

  JsonNode job(String jobId) throws IOException {
    return get("/jobs/" + jobId);
  }

  /** Whether the job and every one of its tasks are running: submitted is not yet processing. */
  boolean allTasksRunning(String jobId) throws IOException {
    JsonNode job = job(jobId);
    if (!job.path("state").asText().equals("RUNNING")) {
      return false;
    }
    for (JsonNode vertex : job.path("vertices")) {
      if (!vertex.path("status").asText().equals("RUNNING")) {
        return false;
      }
    }
    return true;
  }

  /** {@code /jobs/ID/checkpoints}: counts, the latest completed checkpoint and what the job last restored from. */
  JsonNode checkpoints(String jobId) throws IOException {
    return get("/jobs/" + jobId + "/checkpoints");
  }

  List<TaskManager> taskManagers() throws IOException {
    List<TaskManager> taskManagers = new ArrayList<>();
    for (JsonNode taskManager : get("/taskmanagers").path("taskmanagers")) {
      taskManagers.add(new TaskManager(taskManager.path("id").asText(), taskManager.path("slotsNumber").asInt(),
          taskManager.path("freeSlots").asInt()));
    }
    return taskManagers;
  }

  /**
   * Stops the job with a savepoint in {@code targetDirectory} (without draining: windows stay open in the
   * savepoint) and returns the savepoint's path once it is written.
   */
  String stopWithSavepoint(String jobId, String targetDirectory, Duration timeout)
      throws IOException, InterruptedException {
    String body = JSON.createObjectNode().put("targetDirectory", targetDirectory).put("drain", false).toString();
    return awaitSavepoint(jobId, post("/jobs/" + jobId + "/stop", body).path("request-id").asText(), timeout);
  }

  /** Cancels every running job: they end CANCELLED, without finishing the work they hold. */
  public void cancelRunningJobs() throws IOException {
    for (Job job : jobs()) {
      if (job.state().equals("RUNNING")) {
        send(HttpRequest.newBuilder(uri("/jobs/" + job.id() + "?mode=cancel"))
            .method("PATCH", HttpRequest.BodyPublishers.noBody()));
      }
    }
  }

  /**
   * Takes a savepoint of the running job in {@code targetDirectory}, which keeps running, and returns the
   * savepoint's path once it is written. {@code format} is CANONICAL (the same key/value pairs whatever the state
   * backend) or NATIVE (the backend's own files).
   */
  public String savepoint(String jobId, String targetDirectory, String format, Duration timeout)
      throws IOException, InterruptedException {
    String body = JSON.createObjectNode().put("target-directory", targetDirectory).put("cancel-job", false)
        .put("formatType", format).toString();
    return awaitSavepoint(jobId, post("/jobs/" + jobId + "/savepoints", body).path("request-id").asText(), timeout);
  }

  private String awaitSavepoint(String jobId, String triggerId, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode status = get("/jobs/" + jobId + "/savepoints/" + triggerId);
      if (status.path("status").path("id").asText().equals("COMPLETED")) {
        JsonNode operation = status.path("operation");
        if (operation.has("failure-cause")) {
          throw new IOException("the savepoint of job " + jobId + " failed: "
              + operation.path("failure-cause").path("stack-trace").asText().lines().findFirst().orElse(""));
        }
        return operation.path("location").asText();
      }
      Thread.sleep(250);
    }
    throw new IOException("the savepoint of job " + jobId + " did not complete within " + timeout.toSeconds() + " s");
  }

  JsonNode get(String path) throws IOException {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  JsonNode post(String path, String body) throws IOException {
    return send(HttpRequest.newBuilder(uri(path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private URI uri(String path) {
    return URI.create("http://" + address + path);
  }

  private JsonNode send(HttpRequest.Builder request) throws IOException {
    HttpResponse<String> response;
    try {
      response = http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new IOException("no Flink JobManager answers on " + address
          + " (start one with ./clickstream cluster start, or check --flinkMaster)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while calling Flink's REST API on " + address, e);
    }
    if (response.statusCode() / 100 != 2) {
      throw new IOException("Flink's REST API on " + address + " answered " + response.statusCode() + " to "
          + response.request().method() + " " + response.uri().getPath() + ": " + response.body());
    }
    return JSON.readTree(response.body());
  }
}
