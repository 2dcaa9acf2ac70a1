//! A concrete fix per leak pattern, phrased with the names from the finding.

use crate::model::Pattern;

/// The suggestion for `pattern`; `edge` is the variable / property / event name when known.
pub fn suggestion(pattern: Pattern, edge: Option<&str>) -> String {
    let name = edge.filter(|e| !e.is_empty());
    match pattern {
        Pattern::UnboundedCache => format!(
            "bound the cache{}: evict with an LRU (e.g. the `lru-cache` package with `max`) or a \
             TTL, delete entries when their owner goes away, or key it by object in a WeakMap so \
             entries die with their keys",
            name.map(|n| format!(" `{n}`")).unwrap_or_default()
        ),
        Pattern::GrowingArray => format!(
            "cap the array{}: keep a fixed-size ring buffer or `splice`/`shift` old items, or ship \
             the records elsewhere (a log sink, a metrics counter) instead of keeping them in memory",
            name.map(|n| format!(" `{n}`")).unwrap_or_default()
        ),
        Pattern::GrowingSet => format!(
            "bound the set{}: delete members when they are done, expire them (TTL), or use a \
             WeakSet when the members are objects whose lifetime decides membership",
            name.map(|n| format!(" `{n}`")).unwrap_or_default()
        ),
        Pattern::DictionaryObject => format!(
            "the plain object{} is used as a dictionary that only grows: `delete` keys when done, \
             or switch to a bounded Map (LRU/TTL)",
            name.map(|n| format!(" `{n}`")).unwrap_or_default()
        ),
        Pattern::ListenerLeak => format!(
            "remove the listener{} when its owner is done: call `emitter.off(event, fn)` / \
             `removeListener` in the cleanup path (keep a reference to `fn`), use `once()` for \
             one-shot handlers, or pass an AbortSignal (`events.on`/`addEventListener` with \
             `{{ signal }}`)",
            name.map(|n| format!(" on '{n}'")).unwrap_or_default()
        ),
        Pattern::TimerLeak => "keep the handle returned by `setInterval`/`setTimeout` and call \
             `clearInterval`/`clearTimeout` when the owner closes; for background work use \
             `timer.unref()` and one shared interval instead of one per request"
            .to_string(),
        Pattern::ClosureLeak => format!(
            "a closure keeps the previous value alive{}: every new function shares a context with \
             a closure that captures the old value, so the chain never ends; set the captured \
             variable to null after use, move the capturing closure out of that scope, or hold \
             the previous value through a WeakRef",
            name.map(|n| format!(" through `{n}`")).unwrap_or_default()
        ),
        Pattern::PendingPromises => "promises that never settle keep their reactions and \
             AsyncLocalStorage stores alive: add a timeout (`AbortSignal.timeout`, \
             `Promise.race`), make sure every path resolves or rejects, and call \
             `asyncLocalStorage.disable()`/`exit()` when the context is done"
            .to_string(),
        Pattern::GrowingObjects => "instances of this class are created and never released: \
             find who keeps them (see the retainer path) and drop the reference when the work is \
             done, or hold them through a WeakRef/WeakMap"
            .to_string(),
        Pattern::AccumulatingStrings => format!(
            "strings or buffers accumulate{}: bound the container, store a digest instead of the \
             full text, or stream the data out",
            name.map(|n| format!(" in `{n}`")).unwrap_or_default()
        ),
        Pattern::DetachedDom => format!(
            "DOM nodes removed from the document are still referenced{}: drop those \
             references when the nodes are removed (clear the array/map entry, remove the \
             listeners and component state that point at them), or hold them through a \
             WeakMap/WeakRef",
            name.map(|n| format!(" by `{n}`")).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_name_the_container_and_the_remedy() {
        let s = suggestion(Pattern::UnboundedCache, Some("cache"));
        assert!(s.contains("`cache`") && s.contains("LRU") && s.contains("WeakMap"));
        let s = suggestion(Pattern::ListenerLeak, Some("data"));
        assert!(s.contains("'data'") && s.contains("off(") && s.contains("once()"));
        assert!(suggestion(Pattern::TimerLeak, None).contains("clearInterval"));
        assert!(suggestion(Pattern::GrowingArray, Some("requestLog")).contains("ring buffer"));
        assert!(suggestion(Pattern::ClosureLeak, Some("originalThing")).contains("WeakRef"));
    }
}
