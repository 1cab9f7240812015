#pragma once
// Awaiting a callback that another thread calls: librdkafka's delivery reports, for instance,
// arrive on the producer's poll thread, and the coroutine that produced must resume on its own
// shard. `start` receives a `std::function<void(T)>` to call exactly once, from any thread; the
// awaiting coroutine resumes on its own executor with the value: at once when the callback runs
// on that executor's thread (dispatch: the gateway's in-process broker answers a whole batch
// from the shard, and a post per record cost a queue round and an allocation each), else posted.
//
// If the executor has stopped by then (process shutdown), the value is dropped with the
// coroutine frame.

#include <functional>
#include <memory>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace substrate::net {

// Not a coroutine itself: it returns the operation's awaitable, so awaiting it costs no frame of
// its own (a frame allocation and a resumption per event on the gateway's path).
template <class T, class Start>
boost::asio::awaitable<T> await_callback(Start start) {
  auto initiate = [start = std::move(start)](auto handler) mutable {
    auto executor = boost::asio::get_associated_executor(handler);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    start(std::function<void(T)>([shared, executor](T value) {
      boost::asio::dispatch(executor, [shared, value = std::move(value)]() mutable { (*shared)(std::move(value)); });
    }));
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(T)>(std::move(initiate),
                                                                                    boost::asio::use_awaitable);
}

}  // namespace substrate::net
