import { useState } from 'react';
import { api } from '../api/client';
import type { Camera } from '../api/types';
import { useMe } from '../auth/me';
import { SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { ConfirmButton, PageHeader, useAction } from '../ui/widgets';
import {
  STATE_WORDS,
  ago,
  formatBitrate,
  stateBadge,
  useCameraDirectory,
  useNow,
  type CameraDirectory,
} from '../video/cameras';

/**
 * The camera inventory with each camera's health: recording state (and why not), bitrate, frame
 * rate, last key frame, gaps, zone and firmware. People with `camera.manage` add and edit cameras;
 * `recording.manage` starts and stops recording. Credentials are write-only.
 */
export function CamerasPage() {
  const me = useMe();
  const dir = useCameraDirectory(me);
  const now = useNow(2000);
  const [editing, setEditing] = useState<string | undefined>();
  const [adding, setAdding] = useState(false);
  const manageZones = dir.zones.filter((z) => dir.may('camera.manage', { zoneId: z.id }));
  const cameras = dir.cameras.data ?? [];
  const edited = cameras.find((c) => c.id === editing);

  return (
    <>
      <PageHeader title="Cameras">
        The cameras you may see and how their recording is doing. Health refreshes every few seconds.
      </PageHeader>
      <ErrorNote error={dir.cameras.error} title="Cameras could not be loaded" />
      {dir.cameras.data && cameras.length === 0 && <p className="muted">There are no cameras you may see.</p>}
      {cameras.length > 0 && (
        <table className="cameras">
          <caption className="sr-only">Camera inventory and recording health</caption>
          <thead>
            <tr>
              <th scope="col">Camera</th>
              <th scope="col">Zone</th>
              <th scope="col">Recording</th>
              <th scope="col">Bitrate</th>
              <th scope="col">Frame rate</th>
              <th scope="col">Video</th>
              <th scope="col">Last key frame</th>
              <th scope="col">Gaps (24 h)</th>
              <th scope="col">Firmware</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {cameras.map((c) => {
              const h = c.health;
              return (
                <tr key={c.id} data-camera={c.id} aria-selected={c.id === editing}>
                  <th scope="row">
                    {c.name}
                    <div className="muted small">{c.id}</div>
                  </th>
                  <td>{dir.zoneName(c.zoneId)}</td>
                  <td>
                    <span className={`badge ${stateBadge(h.state)}`}>
                      {c.recordingMode === 'off' ? 'off' : STATE_WORDS[h.state]}
                    </span>
                    {h.lastError && h.state !== 'recording' && (
                      <div className="small">
                        {h.lastError.message} <span className="muted">({h.lastError.code})</span>
                      </div>
                    )}
                  </td>
                  <td className="num">{formatBitrate(h.bitrate)}</td>
                  <td className="num">{h.fps > 0 ? `${h.fps.toFixed(1)} fps` : '—'}</td>
                  <td>{h.video ? `${h.video.codec} ${h.video.width}×${h.video.height}` : '—'}</td>
                  <td>{ago(h.lastKeyFrameAt, now)}</td>
                  <td className="num">
                    {h.gaps} <span className="muted small">({Math.round(h.gapSecondsLast24h)} s)</span>
                  </td>
                  <td>{c.firmware ?? <span className="muted">not known</span>}</td>
                  <td>
                    {dir.may('camera.manage', c) && (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => {
                          setAdding(false);
                          setEditing(c.id === editing ? undefined : c.id);
                        }}
                      >
                        Edit {c.name}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {edited && (
        <CameraForm
          key={edited.id}
          dir={dir}
          camera={edited}
          zones={manageZones}
          onDone={() => {
            setEditing(undefined);
            dir.cameras.reload();
          }}
        />
      )}
      {manageZones.length > 0 && !edited && (
        <>
          {!adding ? (
            <button type="button" onClick={() => setAdding(true)}>
              Add a camera
            </button>
          ) : (
            <CameraForm
              dir={dir}
              zones={manageZones}
              onDone={() => {
                setAdding(false);
                dir.cameras.reload();
              }}
            />
          )}
        </>
      )}
    </>
  );
}

/** Add (no `camera`) or edit a camera. The password is never shown; empty keeps the stored one. */
function CameraForm({
  dir,
  camera,
  zones,
  onDone,
}: {
  dir: CameraDirectory;
  camera?: Camera;
  zones: { id: string; name: string }[];
  onDone: () => void;
}) {
  const [id, setId] = useState('');
  const [name, setName] = useState(camera?.name ?? '');
  const [zoneId, setZoneId] = useState(camera?.zoneId ?? zones[0]?.id ?? '');
  const [streamUrl, setStreamUrl] = useState(camera?.streamUrl ?? '');
  const [transport, setTransport] = useState<string>(camera?.transport ?? 'tcp');
  const [username, setUsername] = useState(camera?.username ?? '');
  const [password, setPassword] = useState('');
  const [recordingMode, setRecordingMode] = useState<string>(camera?.recordingMode ?? 'continuous');
  const action = useAction();
  // Said before asking the server, whose schema error names a pattern rather than the fix.
  const urlProblem =
    streamUrl.trim() !== '' && !/^rtsps?:\/\/\S+$/.test(streamUrl.trim())
      ? 'The stream URL must start with rtsp:// or rtsps:// (an RTSP address of the camera).'
      : undefined;
  const title = camera ? `Edit ${camera.name}` : 'Add a camera';
  const canRecord = camera ? dir.may('recording.manage', camera) : false;

  const submit = async () => {
    const common = {
      name: name.trim(),
      streamUrl: streamUrl.trim(),
      transport,
      username: username.trim() === '' ? null : username.trim(),
      ...(password !== '' ? { password } : {}),
    };
    const r = await action.run(() =>
      camera
        ? api.patch<Camera>(`/api/cameras/${encodeURIComponent(camera.id)}`, common)
        : api.post<Camera>('/api/cameras', {
            ...common,
            ...(id.trim() ? { id: id.trim() } : {}),
            zoneId,
            recordingMode,
          }),
    );
    if (r) onDone();
  };

  return (
    <form
      className="panel"
      aria-labelledby="camera-form-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 id="camera-form-title">{title}</h2>
      <div className="row wrap">
        {!camera && (
          <TextField
            label="Camera id"
            value={id}
            onChange={(e) => setId(e.target.value)}
            hint="Optional: lower-case letters, digits and dashes; chosen for you when empty."
          />
        )}
        <TextField label="Camera name" value={name} required onChange={(e) => setName(e.target.value)} />
        {!camera && (
          <SelectField
            label="Zone"
            value={zoneId}
            onChange={(e) => setZoneId(e.target.value)}
            options={zones.map((z) => ({ value: z.id, label: z.name }))}
          />
        )}
      </div>
      <div className="row wrap">
        <TextField
          label="Stream URL"
          value={streamUrl}
          required
          onChange={(e) => setStreamUrl(e.target.value)}
          aria-invalid={urlProblem !== undefined}
          hint="rtsp:// or rtsps:// — the camera’s RTSP address."
        />
        <SelectField
          label="Transport"
          value={transport}
          onChange={(e) => setTransport(e.target.value)}
          options={[
            { value: 'tcp', label: 'TCP (interleaved)' },
            { value: 'udp', label: 'UDP' },
          ]}
        />
      </div>
      <div className="row wrap">
        <TextField
          label="Camera user name"
          value={username}
          autoComplete="off"
          onChange={(e) => setUsername(e.target.value)}
        />
        <TextField
          label="Camera password"
          type="password"
          value={password}
          autoComplete="new-password"
          onChange={(e) => setPassword(e.target.value)}
          hint={
            camera?.hasPassword
              ? 'A password is stored (never shown). Leave empty to keep it.'
              : 'Stored sealed; never shown again.'
          }
        />
        {!camera && (
          <SelectField
            label="Recording"
            value={recordingMode}
            onChange={(e) => setRecordingMode(e.target.value)}
            options={[
              { value: 'continuous', label: 'continuous' },
              { value: 'off', label: 'off' },
            ]}
          />
        )}
      </div>
      {urlProblem && (
        <p className="note note-error" role="alert">
          {urlProblem}
        </p>
      )}
      <ErrorNote error={action.error} />
      <div className="row wrap">
        <button
          type="submit"
          disabled={action.busy || name.trim() === '' || streamUrl.trim() === '' || urlProblem !== undefined}
        >
          {camera ? 'Save camera' : 'Add camera'}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
        {camera && canRecord && (
          <button
            type="button"
            className="secondary"
            disabled={action.busy}
            onClick={() => {
              const verb = camera.recordingMode === 'off' ? 'start' : 'stop';
              void action
                .run(() =>
                  api.post<Camera>(`/api/cameras/${encodeURIComponent(camera.id)}/recording/${verb}`),
                )
                .then((r) => {
                  if (r) onDone();
                });
            }}
          >
            {camera.recordingMode === 'off' ? 'Start recording' : 'Stop recording'}
          </button>
        )}
        {camera && (
          <ConfirmButton
            label={`Remove ${camera.name}`}
            confirmLabel={`Remove ${camera.name} from the inventory`}
            danger
            onConfirm={async () => {
              const r = await action.run(async () => {
                await api.delete(`/api/cameras/${encodeURIComponent(camera.id)}`);
                return true;
              });
              if (r) onDone();
            }}
          />
        )}
      </div>
    </form>
  );
}
