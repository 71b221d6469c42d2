"""The Python client against a real feature server: the Java fixture ServedForClients (clients/java tests),
started with the test classpath Maven passes in CLICKSTREAM_TEST_CLASSPATH (see ../run-tests.sh)."""

import os
import socket
import subprocess
import unittest

from clickstream_client import FeatureClient, FeatureServerError

T0 = 1704067200000
MINUTE = 60000
NOW = T0 + 6 * MINUTE
CLICK = T0 + 4 * MINUTE


class FeatureClientTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        classpath = os.environ.get("CLICKSTREAM_TEST_CLASSPATH")
        if not classpath:
            raise RuntimeError("CLICKSTREAM_TEST_CLASSPATH is not set: run these tests through Maven"
                               " (mvn -o verify -pl clients/java -am), which starts the Java test server")
        cls.server = subprocess.Popen(
            ["java", "-cp", classpath, "dev.clickstream.client.ServedForClients"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        if not line.startswith("PORT "):
            cls.server.kill()
            raise RuntimeError("the test server did not start: it printed %r" % (line,))
        cls.client = FeatureClient("http://127.0.0.1:%d/" % int(line.split()[1]))

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stdin.close()
            cls.server.wait(timeout=20)

    def test_features_are_one_answer_per_id_with_status_and_times(self):
        answers = self.client.features("ctr_5min", ["u1", "u2", "u3"])

        self.assertEqual(answers[0], {
            "feature_view": "ctr_5min", "entity": {"user_id": "u1"}, "status": "ok",
            "features": {"impressions": 4, "clicks": 1, "ctr": 0.25},
            "window_start": T0, "window_end": T0 + 5 * MINUTE, "updated_at": T0 + 5 * MINUTE + 2000})
        self.assertEqual(answers[1]["status"], "stale")
        self.assertEqual(answers[2], {"entity": {"user_id": "u3"}, "status": "not_found"})
        self.assertEqual(self.client.feature("ctr_5min", "u1"), answers[0])

    def test_a_service_vector_has_each_views_status_and_counts_as_of_now(self):
        vector = self.client.vector("ranking_v1", "u1")

        self.assertEqual(vector, {
            "feature_service": "ranking_v1", "entity": {"user_id": "u1"},
            "features": {"ctr_5min.ctr": 0.25, "click_counts.click_count_1_min": 0,
                         "click_counts.click_count_10_min": 1, "click_counts.click_count_30_min": 1,
                         "click_counts.click_count_1_hour": 1, "user_activity_5min.distinct_items": None},
            "views": {"ctr_5min": {"status": "ok", "window_start": T0, "window_end": T0 + 5 * MINUTE,
                                   "updated_at": T0 + 5 * MINUTE + 2000},
                      "click_counts": {"status": "ok", "event_time": CLICK, "updated_at": CLICK + 1000,
                                       "as_of": NOW},
                      "user_activity_5min": {"status": "not_found"}}})
        self.assertEqual(self.client.vectors("ranking_v1", ["u2", "u1"])[1], vector)

    def test_the_registry_describes_the_services(self):
        services = self.client.registry()["feature_services"]

        self.assertEqual([service["name"] for service in services], ["ranking_v1"])
        self.assertEqual(services[0]["views"], ["ctr_5min", "click_counts", "user_activity_5min"])

    def test_refusals_carry_the_servers_status_and_message(self):
        with self.assertRaises(FeatureServerError) as unknown:
            self.client.vector("ranking_v9", "u1")
        with self.assertRaises(FeatureServerError) as bad_id:
            self.client.features("ctr_5min", ["u\u0001"])
        with self.assertRaises(TypeError):
            self.client.features("ctr_5min", "u1")

        self.assertEqual(unknown.exception.status, 404)
        self.assertEqual(unknown.exception.message, "unknown feature service 'ranking_v9': known feature services"
                                                    " are [ranking_v1] (GET /registry describes them)")
        self.assertEqual(bad_id.exception.status, 400)
        self.assertTrue(bad_id.exception.message.startswith(
            "user id at index 0 holds the control character U+0001 at index 1"), bad_id.exception.message)

    def test_an_unreachable_server_is_status_0(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with self.assertRaises(FeatureServerError) as unreachable:
            FeatureClient("http://127.0.0.1:%d" % port).features("ctr_5min", ["u1"])

        self.assertEqual(unreachable.exception.status, 0)
        self.assertTrue(unreachable.exception.message.startswith(
            "cannot reach the feature server at http://127.0.0.1:%d" % port))


if __name__ == "__main__":
    unittest.main()
