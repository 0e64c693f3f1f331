// `node --require @geo/kafka/register-request-queue-fix`: applies the kafkajs request-queue fix
// before any code runs, for processes that make kafkajs clients without createKafkaClient (test
// files, scripts). The test runner passes it to every test file's process.
import { fixKafkajsRequestQueue } from "./request-queue-fix";

fixKafkajsRequestQueue();
