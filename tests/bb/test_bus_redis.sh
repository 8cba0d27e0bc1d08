#!/usr/bin/env bash
# The Redis bus against a real redis-server, through bus-probe: delivery
# verbatim (UTF-8, binary, 60 KB), unsubscribe, publish and its receiver
# count, failing fast while down, reconnect and resubscription (in chunks)
# after Redis is killed and restarted on the same port, the heartbeat
# noticing a hung Redis, bus_free from inside callbacks, clean shutdown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bus_lib.sh"

start_redis
P=$REDIS_PORT
URL=redis://127.0.0.1:$P

probe_start a REDIS_URL="$URL" -- sub k1 k2
probe_start b REDIS_URL="$URL" -- -x sub bin
if wait_for 10 "probe a up" probe_has a "state up 127.0.0.1:$P" &&
    wait_for 10 "probe b up" probe_has b "state up 127.0.0.1:$P"; then
	ok "probes connect and report up with the address"
else
	not_ok "probes connect and report up" "$(cat "$T/a.err")"
fi

redis-cli -p "$P" publish ws:k1 hello >/dev/null
if wait_for 5 "hello on k1" probe_has a "msg k1 hello"; then
	ok "a message published with redis-cli arrives"
else
	not_ok "a message published with redis-cli arrives" "$(cat "$T/a.out")"
fi

text='{"type":"post_liked","data":{"text":"héllo wörld ✓ 日本語 🎉 \"q\" \\ tab	x","n":1}}'
redis-cli -p "$P" publish ws:k2 "$text" >/dev/null
if wait_for 5 "UTF-8 text on k2" probe_has a "msg k2 $text"; then
	ok "UTF-8 JSON arrives verbatim"
else
	not_ok "UTF-8 JSON arrives verbatim" "$(tail -3 "$T/a.out")"
fi

# 61440 bytes: every byte value, NUL and CR LF included.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 240)' \
    > "$T/big.bin"
big_hex=$(hex < "$T/big.bin")
redis-cli -p "$P" -x publish ws:bin < "$T/big.bin" >/dev/null
if wait_for 5 "60 KB binary on bin" probe_has b "msg bin $big_hex"; then
	ok "a 60 KB binary payload arrives byte for byte"
else
	not_ok "a 60 KB binary payload arrives byte for byte" \
	    "got $(grep -c '^msg bin' "$T/b.out") messages on bin"
fi

out=$(timeout 20 env REDIS_URL="$URL" "$PROBE" pub k1 from-probe 2>"$T/pub.err")
if [ "$out" = 1 ] && wait_for 5 "from-probe on k1" probe_has a "msg k1 from-probe"; then
	ok "bus_publish reaches the subscriber and reports 1 receiver"
else
	not_ok "bus_publish reaches the subscriber and reports 1 receiver" \
	    "output '$out'" "$(cat "$T/pub.err")"
fi
out=$(timeout 20 env REDIS_URL="$URL" "$PROBE" pub nobody x 2>>"$T/pub.err")
check "bus_publish to a key nobody holds reports 0 receivers" [ "$out" = 0 ]

# Unsubscribe: Redis drops the channel and nothing more arrives.
probe_cmd a "unsub k1"
if wait_for 5 "ws:k1 has no subscriber" numsub_is "$P" ws:k1 0; then
	ok "unsubscribe sends UNSUBSCRIBE"
else
	not_ok "unsubscribe sends UNSUBSCRIBE" "numsub $(numsub "$P" ws:k1)"
fi
redis-cli -p "$P" publish ws:k1 after-unsub >/dev/null
redis-cli -p "$P" publish ws:k2 barrier-1 >/dev/null
# One connection delivers in order: once the barrier is in, k1 would be too.
if wait_for 5 "barrier-1" probe_has a "msg k2 barrier-1" &&
    ! probe_has a "msg k1 after-unsub"; then
	ok "nothing arrives on an unsubscribed key"
else
	not_ok "nothing arrives on an unsubscribed key" "$(tail -3 "$T/a.out")"
fi
probe_cmd a "count"
check "the subscription set shrank" wait_for 5 "count 1" probe_has a "count 1"

# Many keys, so that resubscribing takes several SUBSCRIBE commands.
probe_cmd a "subn many 2500"
if wait_for 10 "2500 channels" channels_are "$P" 'ws:many*' 2500; then
	ok "2500 keys subscribed"
else
	not_ok "2500 keys subscribed" "$(channels "$P" 'ws:many*') channels"
fi

# bus_free from inside the bus's callbacks (a message, "down", a failed
# publish) must not crash nor call back afterwards.
probe_start c REDIS_URL="$URL" -- sub k9
probe_start d REDIS_URL="$URL" -- sub k9
probe_start e REDIS_URL="$URL" -- sub k9
probe_cmd c "exit-on msg"
probe_cmd d "exit-on down"
probe_cmd e "exit-on pubfail"
wait_for 10 "c, d, e up" eval 'probe_has c "state up" && probe_has d "state up" &&
    probe_has e "state up" && probe_has e "exit-on pubfail"'
redis-cli -p "$P" publish ws:k9 bye >/dev/null
probe_wait c 10
st=$PROBE_STATUS
check "bus_free inside the message callback: exit 0 (status $st)" \
    eval '[ "$st" = 0 ] && probe_has c "msg k9 bye"'

# Redis dies: down, publishing fails fast, then up again on the same port.
kill -KILL "$REDIS_PID"
if wait_for 10 "probe a down" probe_count_ge a '^state down' 1 &&
    wait_for 10 "probe b down" probe_count_ge b '^state down' 1; then
	ok "a killed Redis is reported down"
else
	not_ok "a killed Redis is reported down" "$(cat "$T/a.out" | cut -c1-80)"
fi
out=$(timeout 10 env REDIS_URL="$URL" "$PROBE" -n pub k2 lost 2>>"$T/pub.err")
st=$?
check "publishing while Redis is down fails (cb ok=0) at once" \
    eval '[ "$out" = fail ] && [ "$st" = 1 ]'

probe_wait d 10
st=$PROBE_STATUS
check "bus_free inside the state callback (down): exit 0 (status $st)" \
    eval '[ "$st" = 0 ] && probe_has d "state down"'
probe_cmd e "pub k9 lost"
probe_wait e 10
st=$PROBE_STATUS
check "bus_free inside a failed publish's callback: exit 0 (status $st)" \
    eval '[ "$st" = 0 ] && probe_has e "pub fail"'

start_redis_on "$P"
if wait_for 20 "probe a up again" probe_count_ge a '^state up' 2 &&
    wait_for 20 "probe b up again" probe_count_ge b '^state up' 2; then
	ok "the probes reconnect to the restarted Redis without restarting"
else
	not_ok "the probes reconnect to the restarted Redis" \
	    "$(tail -5 "$T/a.err")"
fi
if [ "$(channels "$P" 'ws:many*')" = 2500 ] && numsub_is "$P" ws:k2 1 &&
    numsub_is "$P" ws:k1 0 && numsub_is "$P" ws:bin 1; then
	ok "every key is resubscribed (and only those)"
else
	not_ok "every key is resubscribed" \
	    "many: $(channels "$P" 'ws:many*') k2: $(numsub "$P" ws:k2)"
fi
redis-cli -p "$P" publish ws:k2 after-restart >/dev/null
redis-cli -p "$P" publish ws:many2499 last-key >/dev/null
printf 'hi\0\r\n' | redis-cli -p "$P" -x publish ws:bin >/dev/null
if wait_for 5 "after-restart" probe_has a "msg k2 after-restart" &&
    wait_for 5 "last-key" probe_has a "msg many2499 last-key" &&
    wait_for 5 "binary after restart" probe_has b "msg bin 6869000d0a"; then
	ok "delivery resumes after the restart"
else
	not_ok "delivery resumes after the restart" "$(tail -3 "$T/a.out")"
fi
check "each transition is reported once" \
    [ "$(grep -c '^state' "$T/a.out")" = 3 ]


# A hung Redis (stopped: the TCP links stay open, nothing answers) is only
# noticed by the heartbeat.
kill -STOP "$REDIS_PID"
if wait_for 15 "probe a down (heartbeat)" probe_count_ge a '^state down' 2; then
	ok "a Redis that stops answering is reported down by the heartbeat"
else
	not_ok "a hung Redis is reported down" "$(tail -3 "$T/a.err")"
fi
check "the heartbeat is what noticed" grep -q 'no heartbeat answer' "$T/a.err"
kill -CONT "$REDIS_PID"
if wait_for 20 "probe a up (after SIGCONT)" probe_count_ge a '^state up' 3; then
	ok "the probe comes back once Redis answers again"
else
	not_ok "the probe comes back after SIGCONT" "$(tail -3 "$T/a.err")"
fi
redis-cli -p "$P" publish ws:k2 after-hang >/dev/null
check "delivery resumes after the hang" \
    wait_for 5 "after-hang" probe_has a "msg k2 after-hang"

# Clean shutdown (under ASan a leak makes the exit status non-zero).
kill -TERM "${PROBE_PID[a]}"
probe_wait a 10
st=$PROBE_STATUS
check "SIGTERM: the probe frees the bus and exits 0 (status $st)" [ "$st" = 0 ]
probe_cmd b "pubquit bin in-flight"
probe_wait b 10
st=$PROBE_STATUS
check "quit: the probe frees the bus and exits 0 (status $st)" [ "$st" = 0 ]
check "bus_free calls back a publish still in flight, with ok = 0" \
    probe_has b "pub fail"

finish
