import { useEffect, useRef } from 'react';
import { useMe } from '../auth/me';
import { NAV_GROUPS, visiblePages, type PageDef } from './pages';
import { href, useRoute } from './router';

/** The signed-in frame: the product bar, the grouped navigation, and the current page. */
export function Layout() {
  const me = useMe();
  const route = useRoute();
  const pages = visiblePages(me);
  const current = pages.find((p) => p.path === route.path);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    document.title = current ? `${current.title} — Palisade` : 'Palisade';
    // After navigation, put focus on the page heading so keyboard users start at the content.
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [current]);

  return (
    <div className="shell">
      <a
        className="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.querySelector<HTMLElement>('h1')?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">PALISADE</span>
        <span className="who">
          Signed in as <strong>{me.session.user.displayName}</strong> ({me.session.user.username})
        </span>
        <button type="button" className="secondary" onClick={() => void me.signOut()}>
          Sign out
        </button>
      </header>
      <nav className="sidenav" aria-label="Main">
        {NAV_GROUPS.map((group) => {
          const inGroup = pages.filter((p) => p.group === group);
          if (inGroup.length === 0) return null;
          return (
            <div key={group} className="navgroup">
              <h2 id={`nav-${group}`}>{group}</h2>
              <ul aria-labelledby={`nav-${group}`}>
                {inGroup.map((p) => (
                  <li key={p.path}>
                    <a href={href(p.path)} aria-current={p === current ? 'page' : undefined}>
                      {p.title}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </nav>
      <main id="main" ref={main} className="content">
        {current ? <current.component /> : <NotHere pages={pages} path={route.path} />}
      </main>
    </div>
  );
}

function NotHere({ pages, path }: { pages: PageDef[]; path: string }) {
  useEffect(() => {
    // The bare console address opens the first page this person may see.
    if ((path === '/' || path === '/signed-in') && pages[0]) window.location.replace(href(pages[0].path));
  }, [pages, path]);
  if (path === '/' || path === '/signed-in') return null;
  return (
    <section>
      <h1 tabIndex={-1}>Page not available</h1>
      <p className="lead">
        There is no page at this address, or your roles do not include it. Choose a page from the navigation.
      </p>
    </section>
  );
}
