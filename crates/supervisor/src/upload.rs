//! Uploading snapshots to object storage through `object_store`: `s3://bucket/prefix`,
//! `gs://bucket/prefix`, `az://container/prefix` (also `azure://`). Credentials and regions
//! come from the standard environment variables of each cloud (`AWS_ACCESS_KEY_ID`,
//! `AWS_REGION`, `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, ...). For
//! S3-compatible servers an endpoint can be given (`--upload-endpoint` or
//! `AWS_ENDPOINT_URL`); plain http is then allowed.

use object_store::ObjectStore;
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Checks the scheme and bucket of an upload URL (one line on error).
pub fn check_url(url: &str) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    match u.scheme() {
        "s3" | "gs" | "az" | "azure" => {}
        other => {
            return Err(format!(
                "'{url}': unsupported scheme '{other}'; use s3://, gs:// or az://"
            ))
        }
    }
    if u.host_str().unwrap_or("").is_empty() {
        return Err(format!("'{url}' names no bucket or container"));
    }
    Ok(())
}

/// A configured destination.
pub struct Uploader {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    display: String,
}

impl Uploader {
    pub fn new(url: &str, endpoint: Option<&str>) -> Result<Uploader, String> {
        check_url(url)?;
        let u = url::Url::parse(url).map_err(|e| e.to_string())?;
        let prefix = u.path().trim_matches('/').to_string();
        let fail = |e: object_store::Error| format!("{url}: {e}");
        let store: Arc<dyn ObjectStore> = match u.scheme() {
            "s3" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(url);
                if std::env::var_os("AWS_REGION").is_none()
                    && std::env::var_os("AWS_DEFAULT_REGION").is_none()
                {
                    b = b.with_region("us-east-1");
                }
                if let Some(ep) = endpoint {
                    b = b
                        .with_endpoint(ep)
                        .with_allow_http(ep.starts_with("http://"));
                }
                Arc::new(b.build().map_err(fail)?)
            }
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(fail)?,
            ),
            _ => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(fail)?,
            ),
        };
        Ok(Uploader {
            store,
            prefix,
            display: url.trim_end_matches('/').to_string(),
        })
    }

    /// Streams `file` to `<prefix>/<file name>` (multipart for large files). Returns the
    /// object URL.
    pub async fn upload(&self, file: &Path) -> Result<String, String> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{}: not a file", file.display()))?;
        let key = if self.prefix.is_empty() {
            name.clone()
        } else {
            format!("{}/{name}", self.prefix)
        };
        let mut src = tokio::fs::File::open(file)
            .await
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let mut w = object_store::buffered::BufWriter::new(
            self.store.clone(),
            object_store::path::Path::from(key.as_str()),
        );
        let target = format!("{}/{name}", self.display);
        let res = async {
            tokio::io::copy(&mut src, &mut w).await?;
            w.shutdown().await
        }
        .await;
        match res {
            Ok(()) => Ok(target),
            Err(e) => {
                let _ = w.abort().await;
                Err(format!(
                    "upload of {} to {target} failed: {e}",
                    file.display()
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("s3://bucket/prefix").is_ok());
        assert!(check_url("gs://b").is_ok());
        assert!(check_url("az://c/p").is_ok());
        assert!(check_url("http://x/y")
            .unwrap_err()
            .contains("unsupported scheme"));
        assert!(check_url("nonsense").is_err());
    }
}
