#pragma once
// One function per described API, each defined in its own file next to this one. Only
// schema.cc uses these; everyone else goes through find_schema().

#include "kafka/protocol/schema.h"

namespace substrate::kafka::schemas {

const api_schema& produce();
const api_schema& fetch();
const api_schema& list_offsets();
const api_schema& metadata();
const api_schema& offset_commit();
const api_schema& offset_fetch();
const api_schema& find_coordinator();
const api_schema& join_group();
const api_schema& heartbeat();
const api_schema& leave_group();
const api_schema& sync_group();
const api_schema& describe_groups();
const api_schema& list_groups();
const api_schema& sasl_handshake();
const api_schema& api_versions();
const api_schema& create_topics();
const api_schema& delete_topics();
const api_schema& init_producer_id();
const api_schema& describe_configs();
const api_schema& sasl_authenticate();

}  // namespace substrate::kafka::schemas
