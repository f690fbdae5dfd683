//! On-demand prices of training instances from the AWS Price List Query API
//! (`pricing:GetProducts`, service code `AmazonSageMaker`).

use aws_sdk_pricing::Client;
use aws_sdk_pricing::types::{Filter, FilterType};
use serde_json::Value;

use crate::backend::BackendError;
use crate::backend::paging::Pager;
use crate::backend::sdk::from_sdk;

/// The on-demand price per hour in USD of training on `instance_type` in `region`.
pub async fn training_price(
    client: &Client,
    region: &str,
    instance_type: &str,
) -> Result<f64, BackendError> {
    let filter = |field: &str, value: &str| {
        Filter::builder()
            .r#type(FilterType::TermMatch)
            .field(field)
            .value(value)
            .build()
            .expect("field, type and value are set")
    };
    let mut token = None;
    let mut pager = Pager::new(format!(
        "GetProducts AmazonSageMaker {region} {instance_type}"
    ));
    loop {
        let page = client
            .get_products()
            .service_code("AmazonSageMaker")
            .filters(filter("regionCode", region))
            .filters(filter("instanceName", instance_type))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(from_sdk)?;
        for product in page.price_list() {
            if let Some(price) = serde_json::from_str::<Value>(product)
                .ok()
                .and_then(|p| training_on_demand(&p))
            {
                return Ok(price);
            }
        }
        token = pager.next(page.next_token())?;
        if token.is_none() {
            return Err(BackendError::new(
                "PriceNotFound",
                format!(
                    "the Price List has no on-demand training price for {instance_type} in \
                     {region}"
                ),
            ));
        }
    }
}

/// The hourly USD price of a Price List product if it is on-demand training (its usage
/// type names `Train:`, not spot).
fn training_on_demand(product: &Value) -> Option<f64> {
    let usage = product["product"]["attributes"]["usagetype"].as_str()?;
    if !usage.contains("Train:") || usage.contains("Spot") {
        return None;
    }
    product["terms"]["OnDemand"]
        .as_object()?
        .values()
        .filter_map(|term| term["priceDimensions"].as_object())
        .flat_map(|dims| dims.values())
        .filter(|d| d["unit"].as_str().is_some_and(|u| u.starts_with("Hr")))
        .filter_map(|d| d["pricePerUnit"]["USD"].as_str()?.parse::<f64>().ok())
        .find(|p| *p > 0.0)
}

#[cfg(test)]
mod tests {
    use super::training_on_demand;
    use serde_json::json;

    fn product(usage: &str, usd: &str) -> serde_json::Value {
        json!({
            "product": {"attributes": {"usagetype": usage, "instanceName": "ml.m5.large"}},
            "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": {"SKU.TERM.RATE": {
                "unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}}
        })
    }

    #[test]
    fn only_on_demand_training_prices_count() {
        assert_eq!(
            training_on_demand(&product("USE1-Train:ml.m5.large", "0.1150000000")),
            Some(0.115)
        );
        assert_eq!(
            training_on_demand(&product("USE1-Host:ml.m5.large", "0.1150000000")),
            None
        );
        assert_eq!(
            training_on_demand(&product("USE1-Train-Spot:ml.m5.large", "0.03")),
            None
        );
        assert_eq!(
            training_on_demand(&product("USE1-Train:ml.m5.large", "0.0000000000")),
            None
        );
    }
}
