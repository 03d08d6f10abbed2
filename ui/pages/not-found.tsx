import { Heading } from "../components/heading.tsx";

export function NotFoundPage() {
  return (
    <section>
      <Heading>Page not found</Heading>
      <p>
        Nothing lives at this address. <a href="/">Go to the overview</a>.
      </p>
    </section>
  );
}
