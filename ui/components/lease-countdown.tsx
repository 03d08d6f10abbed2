import { useEffect, useState } from "preact/hooks";
import { countdownText } from "../lease-format.ts";

const tickMs = 1000;

/**
 * The time left of a held lease, redrawn every second from its end time. A timer role is not
 * announced as it changes (aria-live off), so a screen reader hears it only when it reads it.
 */
export function LeaseCountdown(props: { endTime: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), tickMs);
    return () => clearInterval(timer);
  }, []);
  return (
    <time
      role="timer"
      aria-live="off"
      class="countdown"
      dateTime={props.endTime}
      title={`Ends at ${new Date(props.endTime).toLocaleString()}`}
    >
      {countdownText(props.endTime, now)}
    </time>
  );
}
